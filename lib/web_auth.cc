#include "web_auth.h"

#include "crypto.h"

namespace srconnect {

std::string StateId(const Secret& state_key, std::string_view state) {
  return HexEncode(
      HmacSha256(state_key.Reveal(), std::string("state\n") += state));
}

std::string CsrfToken(const Secret& state_key, std::string_view state,
                      std::string_view company_id) {
  std::string message = "csrf\n";
  message += state;
  message += '\n';
  message += company_id;
  return Base64UrlEncode(HmacSha256(state_key.Reveal(), message));
}

bool VerifyCsrfToken(const Secret& state_key, std::string_view state,
                     std::string_view company_id, std::string_view token) {
  return ConstantTimeEqual(CsrfToken(state_key, state, company_id), token);
}

Result<std::string> ReadAccountLink(const HttpRequest& request,
                                    const Secret& link_secret,
                                    int64_t now_unix) {
  auto account = request.query.GetOne("account");
  auto expires = request.query.GetOne("expires");
  auto signature = request.query.GetOne("sig");
  if (!account.ok()) return account.status();
  if (!expires.ok()) return expires.status();
  if (!signature.ok()) return signature.status();
  if (!account->has_value() || !expires->has_value() ||
      !signature->has_value()) {
    return Status::Error(
        "the link has no signed account (parameters account, expires and "
        "sig are required)");
  }

  Status verified =
      VerifyAccountLink(link_secret.Reveal(), **account, **expires,
                        **signature, now_unix);
  if (!verified.ok()) return verified;
  return **account;
}

std::string BuildAccountLink(std::string_view base_url, std::string_view path,
                             const Secret& link_secret,
                             std::string_view account_id,
                             int64_t expires_at_unix) {
  std::string link(base_url);
  link += path;
  link += "?account=" + UrlEncode(account_id);
  link += "&expires=" + std::to_string(expires_at_unix);
  link += "&sig=" + UrlEncode(SignAccountLink(link_secret.Reveal(), account_id,
                                              expires_at_unix));
  return link;
}

}  // namespace srconnect
