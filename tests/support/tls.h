// Test certificates: a throwaway CA and a server certificate signed by it,
// made with the OpenSSL 3 C API, for tests that serve or call HTTPS on
// loopback.

#ifndef SRCONNECT_TESTS_SUPPORT_TLS_H_
#define SRCONNECT_TESTS_SUPPORT_TLS_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace srconnect::testing {

// Paths of the PEM files written by MakeTestCertificates.
struct TestCertificates {
  std::string ca_cert;      // self-signed CA certificate
  std::string ca_key;       // the CA's private key
  std::string server_cert;  // server certificate signed by the CA
  std::string server_key;   // the server's private key (unencrypted)
};

namespace tls_internal {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Throws std::runtime_error naming `call` and OpenSSL's error text.
[[noreturn]] inline void ThrowOpenSslError(const std::string& call) {
  char text[256] = "no error text";
  unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  throw std::runtime_error(call + " failed: " + text);
}

inline PkeyPtr NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) ThrowOpenSslError("EVP_EC_gen");
  return key;
}

inline void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) ThrowOpenSslError("X509V3_EXT_conf_nid");
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) ThrowOpenSslError("X509_add_ext");
}

// Creates a certificate for `key` named `common_name`, valid from one hour
// ago for 30 days. A null `issuer` makes it self-signed.
inline X509Ptr NewCertificate(EVP_PKEY* key, const std::string& common_name,
                              X509* issuer) {
  X509Ptr cert(X509_new());
  if (!cert) ThrowOpenSslError("X509_new");
  X509_set_version(cert.get(), 2);

  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    ThrowOpenSslError("RAND_bytes");
  }
  serial_bytes[0] &= 0x7f;  // keep the serial positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) ==
          nullptr) {
    BN_free(serial);
    ThrowOpenSslError("BN_to_ASN1_INTEGER");
  }
  BN_free(serial);

  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  if (X509_set_pubkey(cert.get(), key) != 1) {
    ThrowOpenSslError("X509_set_pubkey");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(
      cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return cert;
}

inline void WritePem(const std::string& path, X509* cert) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    ThrowOpenSslError("PEM_write_bio_X509 \"" + path + "\"");
  }
}

inline void WritePem(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    ThrowOpenSslError("PEM_write_bio_PrivateKey \"" + path + "\"");
  }
}

}  // namespace tls_internal

// Writes ca.pem, ca-key.pem, server.pem and server-key.pem into `dir` (which
// must exist). The server certificate names localhost, 127.0.0.1 and ::1 in
// its subjectAltName and is valid for serverAuth. Throws std::runtime_error
// when an OpenSSL call or a file write fails.
inline TestCertificates MakeTestCertificates(const std::string& dir) {
  using namespace tls_internal;

  PkeyPtr ca_key = NewKey();
  X509Ptr ca = NewCertificate(ca_key.get(), "srconnect test CA", nullptr);
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage,
               "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) {
    ThrowOpenSslError("X509_sign (CA)");
  }

  PkeyPtr server_key = NewKey();
  X509Ptr server = NewCertificate(server_key.get(), "localhost", ca.get());
  AddExtension(server.get(), ca.get(), NID_basic_constraints, "CA:FALSE");
  AddExtension(server.get(), ca.get(), NID_key_usage,
               "critical,digitalSignature,keyEncipherment");
  AddExtension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(server.get(), ca.get(), NID_subject_alt_name,
               "DNS:localhost,IP:127.0.0.1,IP:::1");
  AddExtension(server.get(), ca.get(), NID_authority_key_identifier,
               "keyid:always");
  if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) {
    ThrowOpenSslError("X509_sign (server)");
  }

  TestCertificates files{dir + "/ca.pem", dir + "/ca-key.pem",
                         dir + "/server.pem", dir + "/server-key.pem"};
  WritePem(files.ca_cert, ca.get());
  WritePem(files.ca_key, ca_key.get());
  WritePem(files.server_cert, server.get());
  WritePem(files.server_key, server_key.get());
  return files;
}

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_TLS_H_
