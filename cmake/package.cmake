# The Debian package, built by CPack from the install rules in
# install.cmake. scripts/package configures a tree with the prefix /usr and
# runs `cpack -G DEB`; a tree with another prefix would put /etc files
# under that prefix.

set(SRCONNECT_PACKAGE_MAINTAINER
    "srconnect maintainers <srconnect@localhost>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME srconnect)
set(CPACK_PACKAGE_VENDOR srconnect)
set(CPACK_PACKAGE_CONTACT "${SRCONNECT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "FastCGI binaries behind nginx, started by systemd socket activation, \
that connect SmartRecruiters companies to accounts of a partner product, \
store the customer-level credentials encrypted in SQLite and renew access \
tokens from a systemd timer.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_OUTPUT_FILE_PREFIX "${PROJECT_BINARY_DIR}/packages")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian 12 package names of the shared libraries the binaries link.
# tests/deploy/package_contents.sh checks this list against the binaries'
# NEEDED entries. systemd provides systemd-sysusers and systemd-tmpfiles
# for postinst and runs the units.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6, libstdc++6, libgcc-s1, libfcgi0ldbl, libcpp-httplib0.11, \
libyaml-cpp0.7, libsqlite3-0, libssl3, systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx | httpd, sqlite3")

# Maintainer scripts and the conffiles list, with the directories of this
# prefix substituted.
set(SRCONNECT_PACKAGE_UNITS "${SRCONNECT_INSTALLED_UNITS}")
list(FILTER SRCONNECT_PACKAGE_UNITS INCLUDE REGEX "\\.(socket|timer)$")
list(JOIN SRCONNECT_PACKAGE_UNITS " " SRCONNECT_ENABLED_UNITS)
set(SRCONNECT_PACKAGE_SERVICES "${SRCONNECT_INSTALLED_UNITS}")
list(FILTER SRCONNECT_PACKAGE_SERVICES INCLUDE REGEX "\\.service$")
list(JOIN SRCONNECT_PACKAGE_SERVICES " " SRCONNECT_SERVICES)
list(JOIN SRCONNECT_INSTALLED_UNITS " " SRCONNECT_ALL_UNITS)
set(SRCONNECT_CONFFILES
    "${CMAKE_INSTALL_FULL_SYSCONFDIR}/nginx/snippets/srconnect.conf")
if(EXISTS "${PROJECT_SOURCE_DIR}/etc/srconnect.yaml.sample")
  string(APPEND SRCONNECT_CONFFILES
         "\n${CMAKE_INSTALL_FULL_SYSCONFDIR}/srconnect/srconnect.yaml.sample")
endif()

set(SRCONNECT_CONTROL_DIR "${PROJECT_BINARY_DIR}/packaging/deb")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA)
foreach(control_file postinst prerm postrm conffiles)
  configure_file("${PROJECT_SOURCE_DIR}/packaging/deb/${control_file}.in"
                 "${SRCONNECT_CONTROL_DIR}/${control_file}" @ONLY)
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
       "${SRCONNECT_CONTROL_DIR}/${control_file}")
endforeach()
# Gives the maintainer scripts 0755 and conffiles 0644 whatever the
# build's umask.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
