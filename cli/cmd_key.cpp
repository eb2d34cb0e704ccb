// `atelier key export|import|list`: the public half of the workspace's signing
// key for outside auditors, and the keys of other workspaces this one trusts
// when verifying. The exported file is JSON {format, alg, key_id, public_key,
// created_at}; importing checks that key_id is the id of public_key, so a file
// cannot name one key and carry another. Only public keys ever leave keys/.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "provenance/signing.h"
#include "provenance/workspace_key.h"

namespace atelier::cli {

namespace fs = std::filesystem;

namespace {
constexpr const char* kKeyFormat = "atelier-public-key/1";
constexpr std::uintmax_t kMaxKeyFileBytes = 64 << 10;

json key_json(const SigningKeyRow& k) {
  return {{"format", kKeyFormat},
          {"alg", provenance::kSignatureAlg},
          {"key_id", k.key_id},
          {"public_key", k.public_key},
          {"created_at", k.created_at}};
}
}  // namespace

int cmd_key_export(const Globals& g, const std::optional<std::string>& out) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const auto key = provenance::workspace_signing_key(ws.dir(), *store);
  const auto row = store->find_signing_key(key.key_id);
  if (!row) throw std::runtime_error("signing key " + key.key_id + " was not recorded");
  const std::string text = key_json(*row).dump(2) + "\n";
  if (!out) {
    std::cout << text;
    return 0;
  }
  std::ofstream f(*out, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw InputError(*out + ": cannot write");
  std::cerr << "wrote the public key " << key.key_id << " to " << *out << "\n";
  return 0;
}

int cmd_key_import(const Globals& g, const std::string& file, const std::string& label) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) throw InputError(file + ": cannot read: " + ec.message());
  if (size > kMaxKeyFileBytes) throw InputError(file + ": too large for a public key file");
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json k = json::parse(text, nullptr, false);
  if (k.is_discarded() || !k.is_object())
    throw InputError(file + ": not a public key file (expected the JSON of `atelier key export`)");
  if (!k.contains("alg") || k["alg"] != provenance::kSignatureAlg)
    throw InputError(file + ": alg: expected \"Ed25519\"");
  const auto pk =
      k.contains("public_key") && k["public_key"].is_string()
          ? provenance::from_hex(k["public_key"].get<std::string>(), provenance::kPublicKeyBytes)
          : std::nullopt;
  if (!pk) throw InputError(file + ": public_key: expected 64 hex digits");
  provenance::PublicKey key{};
  std::copy(pk->begin(), pk->end(), key.begin());
  const std::string id = provenance::key_id_of(key);
  if (k.contains("key_id") && k["key_id"] != id)
    throw InputError(file + ": key_id " + k["key_id"].dump() + " is not the id of public_key (" +
                     id + ")");
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const std::string name = label.empty() ? fs::path(file).filename().string() : label;
  const bool added = store->add_signing_key({id, provenance::to_hex(key), "imported", name, 0});
  if (added)
    store->audit(current_actor(), "key import", id,
                 {{"file", fs::absolute(file).string()}, {"label", name}});
  if (g.json) {
    std::cout << json{{"key_id", id}, {"added", added}}.dump() << "\n";
  } else if (added) {
    std::cout << "trusting key " << id << " (" << name << ")\n";
  } else {
    std::cout << "key " << id << " is already trusted\n";
  }
  return 0;
}

int cmd_key_list(const Globals& g) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  provenance::workspace_signing_key(ws.dir(), *store);
  json out = json::array();
  for (const SigningKeyRow& k : store->signing_keys()) {
    json j = key_json(k);
    j.erase("format");
    j["origin"] = k.origin;
    j["label"] = k.label;
    out.push_back(std::move(j));
  }
  if (g.json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  for (const json& k : out)
    std::cout << k["key_id"].get<std::string>() << "  " << k["origin"].get<std::string>()
              << (k["label"] == "" ? "" : "  " + k["label"].get<std::string>()) << "\n";
  return 0;
}

}  // namespace atelier::cli
