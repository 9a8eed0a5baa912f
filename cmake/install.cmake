# Install rules and the Debian package (CPack DEB).
#
# Included at the end of the root CMakeLists.txt, after every target is
# defined, so that each rule can check whether its target exists.
#
# Layout with CMAKE_INSTALL_PREFIX=/usr (the package); docs/operations.md
# lists every file:
#
#   /usr/libexec/srconnect/srconnect-{start,callback,status,refresh}
#   /usr/bin/srconnect
#   <systemd unit dir>/srconnect-*.{socket,service,timer}
#   /usr/lib/sysusers.d/srconnect.conf, /usr/lib/tmpfiles.d/srconnect.conf
#   /etc/nginx/snippets/srconnect.conf
#   /etc/srconnect/srconnect.yaml.sample
#   /usr/share/doc/srconnect/*.md
#
# The unit files are configured from systemd/*.in, so that ExecStart= and
# LoadCredential= name the directories of this prefix. GNUInstallDirs makes
# the configuration directory /etc for the prefix /usr (/etc/opt/NAME for
# /opt/NAME); with the default prefix /usr/local it is /usr/local/etc. The
# paths are fixed at configure time, so configure with the prefix you
# install to, because `cmake --install --prefix` cannot move them.

# Directories that systemd reads. Debian 12's systemd.pc names
# /lib/systemd/system for units and /usr/lib for sysusers.d and tmpfiles.d.
pkg_get_variable(SRCONNECT_PC_UNIT_DIR systemd systemdsystemunitdir)
pkg_get_variable(SRCONNECT_PC_SYSUSERS_DIR systemd sysusersdir)
pkg_get_variable(SRCONNECT_PC_TMPFILES_DIR systemd tmpfilesdir)
if(NOT SRCONNECT_PC_UNIT_DIR)
  set(SRCONNECT_PC_UNIT_DIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
if(NOT SRCONNECT_PC_SYSUSERS_DIR)
  set(SRCONNECT_PC_SYSUSERS_DIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
endif()
if(NOT SRCONNECT_PC_TMPFILES_DIR)
  set(SRCONNECT_PC_TMPFILES_DIR "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d")
endif()
set(SRCONNECT_SYSTEMD_UNIT_DIR "${SRCONNECT_PC_UNIT_DIR}"
    CACHE PATH "Directory for the systemd unit files")
set(SRCONNECT_SYSUSERS_DIR "${SRCONNECT_PC_SYSUSERS_DIR}"
    CACHE PATH "Directory for the sysusers.d file")
set(SRCONNECT_TMPFILES_DIR "${SRCONNECT_PC_TMPFILES_DIR}"
    CACHE PATH "Directory for the tmpfiles.d file")

# Substituted into the unit templates and maintainer scripts.
# SRCONNECT_CONFIG_DIR comes from the root CMakeLists.txt.
set(SRCONNECT_LIBEXEC_DIR "${CMAKE_INSTALL_FULL_LIBEXECDIR}/srconnect")
set(SRCONNECT_DOC_DIR "${CMAKE_INSTALL_FULL_DOCDIR}")

# Binaries. Each rule is skipped while its target does not exist, which
# keeps a partial tree configurable. srconnect-installed-programs builds
# only these, for scripts/package.
add_custom_target(srconnect-installed-programs)
foreach(handler start callback status refresh)
  if(TARGET srconnect-${handler})
    install(TARGETS srconnect-${handler}
            RUNTIME DESTINATION "${CMAKE_INSTALL_LIBEXECDIR}/srconnect")
    add_dependencies(srconnect-installed-programs srconnect-${handler})
  endif()
endforeach()
# The CLI's target is srconnect-cli because the library owns the name
# srconnect; its executable is named srconnect.
if(TARGET srconnect-cli)
  install(TARGETS srconnect-cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
  add_dependencies(srconnect-installed-programs srconnect-cli)
endif()

# Unit files: NAME.in is configured, a plain NAME is copied.
set(SRCONNECT_UNITS
    srconnect-start.socket
    srconnect-start.service
    srconnect-callback.socket
    srconnect-callback.service
    srconnect-status.socket
    srconnect-status.service
    srconnect-refresh-api.socket
    srconnect-refresh-api.service
    srconnect-refresh.service
    srconnect-refresh.timer)
set(SRCONNECT_UNIT_BUILD_DIR "${PROJECT_BINARY_DIR}/systemd")
set(SRCONNECT_INSTALLED_UNITS)
foreach(unit IN LISTS SRCONNECT_UNITS)
  set(source "${PROJECT_SOURCE_DIR}/systemd/${unit}")
  if(EXISTS "${source}.in")
    configure_file("${source}.in" "${SRCONNECT_UNIT_BUILD_DIR}/${unit}"
                   @ONLY)
  elseif(EXISTS "${source}")
    configure_file("${source}" "${SRCONNECT_UNIT_BUILD_DIR}/${unit}" COPYONLY)
  else()
    message(STATUS "srconnect: systemd/${unit} not found; not installed")
    continue()
  endif()
  install(FILES "${SRCONNECT_UNIT_BUILD_DIR}/${unit}"
          DESTINATION "${SRCONNECT_SYSTEMD_UNIT_DIR}")
  list(APPEND SRCONNECT_INSTALLED_UNITS "${unit}")
endforeach()

install(FILES "${PROJECT_SOURCE_DIR}/systemd/sysusers.d/srconnect.conf"
        DESTINATION "${SRCONNECT_SYSUSERS_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/systemd/tmpfiles.d/srconnect.conf"
        DESTINATION "${SRCONNECT_TMPFILES_DIR}")

# Configuration: the nginx snippet and the sample; the real srconnect.yaml
# and the secrets are the operator's. The destinations are absolute
# because with the prefix /usr, CMAKE_INSTALL_SYSCONFDIR is still the
# relative "etc", which install() would place under /usr/etc.
install(FILES "${PROJECT_SOURCE_DIR}/nginx/srconnect.conf"
        DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/nginx/snippets")
if(EXISTS "${PROJECT_SOURCE_DIR}/etc/srconnect.yaml.sample")
  install(FILES "${PROJECT_SOURCE_DIR}/etc/srconnect.yaml.sample"
          DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/srconnect")
endif()

# Documentation. The list is taken at configure time, so a new page needs
# a new cmake run.
file(GLOB SRCONNECT_DOC_PAGES "${PROJECT_SOURCE_DIR}/docs/*.md")
if(EXISTS "${PROJECT_SOURCE_DIR}/README.md")
  list(PREPEND SRCONNECT_DOC_PAGES "${PROJECT_SOURCE_DIR}/README.md")
endif()
install(FILES ${SRCONNECT_DOC_PAGES} DESTINATION "${CMAKE_INSTALL_DOCDIR}")

include(${PROJECT_SOURCE_DIR}/cmake/package.cmake)
