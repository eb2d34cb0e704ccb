// Signing (provenance/signing.h): key files made once with mode 0600 and reused,
// a damaged key refused, the canonical form stable under parse and dump, a
// signature that catches a one-character change, and signing_keys in the store.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/errors.h"
#include "provenance/signing.h"
#include "provenance/workspace_key.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::provenance;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("atelier-sign-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  return d;
}

json sample_manifest() {
  return json::parse(R"({"format": "atelier-manifest/1", "run": 3, "job": 17,
    "generation": {"prompt": "red apple, 苹果", "cfg": 4.5, "seed": 11, "steps": 3},
    "models": [{"role": "lora", "scale": 0.1, "sha256": "ab"}],
    "pixels_sha256": "00", "signature": null})");
}

}  // namespace

TEST(Signing, KeyFilesAreMadeOnceWithMode0600) {
  const fs::path dir = temp_dir("keys");
  const LoadedKey first = load_or_create_key_pair(dir / "keys");
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.key.key_id.size(), 16u);
  EXPECT_EQ(first.key.key_id, sha256_hex(first.key.public_key).substr(0, 16));
  struct stat st {};
  ASSERT_EQ(::stat(secret_key_file(dir / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 64);
  ASSERT_EQ(::stat((dir / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::ifstream pub(public_key_file(dir / "keys"));
  std::string hex;
  pub >> hex;
  EXPECT_EQ(hex, first.key.public_hex());

  const LoadedKey again = load_or_create_key_pair(dir / "keys");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.key.key_id, first.key.key_id);
  EXPECT_EQ(again.key.secret, first.key.secret);
  // No temporary files left beside the keys.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "keys"), fs::directory_iterator()), 2);
  fs::remove_all(dir);
}

TEST(Signing, ADamagedKeyFileIsRefusedNotReplaced) {
  const fs::path dir = temp_dir("damaged");
  load_or_create_key_pair(dir);
  {
    std::fstream f(secret_key_file(dir), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);  // in the public half
    f.put('\x55');
  }
  try {
    load_or_create_key_pair(dir);
    ADD_FAILURE() << "no error";
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("workspace.ed25519: not an Ed25519 secret key"),
              std::string::npos)
        << e.what();
  }
  fs::resize_file(secret_key_file(dir), 10);
  try {
    load_key_pair(dir);
    ADD_FAILURE() << "no error";
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 64 bytes (an Ed25519 secret key), found 10"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(Signing, CanonicalFormDropsTheSignatureSortsKeysAndSurvivesParsing) {
  const json m = sample_manifest();
  const std::string canon = canonical_manifest(m);
  EXPECT_EQ(canon.find("signature"), std::string::npos);
  EXPECT_EQ(canon.find(' ', canon.find("\"run\"")), std::string::npos);  // no whitespace added
  EXPECT_LT(canon.find("\"format\""), canon.find("\"generation\""));
  EXPECT_NE(canon.find("\"cfg\":4.5"), std::string::npos) << canon;
  EXPECT_NE(canon.find("\"scale\":0.1"), std::string::npos) << canon;  // shortest round trip
  EXPECT_NE(canon.find("苹果"), std::string::npos);                    // UTF-8, not \u escapes
  // A signed manifest written out and read back has the same canonical form.
  const KeyPair k = generate_key_pair();
  const json signed_m = sign_manifest(m, k);
  EXPECT_EQ(canonical_manifest(json::parse(signed_m.dump())), canon);
  EXPECT_THROW(canonical_manifest(json::array()), std::invalid_argument);
}

TEST(Signing, SignatureCatchesOneChangedCharacter) {
  const KeyPair k = generate_key_pair();
  const json s = sign_manifest(sample_manifest(), k);
  EXPECT_EQ(s["signature"]["alg"], "Ed25519");
  EXPECT_EQ(s["signature"]["key_id"], k.key_id);
  EXPECT_EQ(s["signature"]["public_key"], k.public_hex());
  auto c = check_manifest_signature(json::parse(s.dump()));
  EXPECT_EQ(c.status, SignatureCheck::valid) << c.reason;
  EXPECT_EQ(c.key_id, k.key_id);

  json edited = s;
  edited["generation"]["prompt"] = "red apple, 苹菓";
  EXPECT_EQ(check_manifest_signature(edited).status, SignatureCheck::mismatch);
  edited = s;
  edited["generation"]["cfg"] = 4.6;
  EXPECT_EQ(check_manifest_signature(edited).status, SignatureCheck::mismatch);
  edited = s;
  edited["extra"] = true;  // an added member is a change too
  EXPECT_EQ(check_manifest_signature(edited).status, SignatureCheck::mismatch);

  // The signature of another key over the same manifest, presented as this key's.
  const KeyPair other = generate_key_pair();
  edited = s;
  edited["signature"]["value"] = sign_manifest(sample_manifest(), other)["signature"]["value"];
  EXPECT_EQ(check_manifest_signature(edited).status, SignatureCheck::mismatch);

  EXPECT_EQ(check_manifest_signature(sample_manifest()).status, SignatureCheck::unsigned_manifest);
}

TEST(Signing, MalformedSignaturesSayWhichField) {
  const KeyPair k = generate_key_pair();
  const json s = sign_manifest(sample_manifest(), k);
  struct Case {
    std::string field;
    json value;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"alg", "RSA", "signature.alg: expected \"Ed25519\", got \"RSA\""},
           {"public_key", "zz", "signature.public_key: expected 64 hex digits"},
           {"key_id", "0000000000000000", "is not the id of its public key"},
           {"value", "not base64!", "signature.value: expected the base64 of 64 bytes"},
           {"value", "AAAA", "signature.value: expected the base64 of 64 bytes"}}) {
    json m = s;
    m["signature"][c.field] = c.value;
    const auto r = check_manifest_signature(m);
    EXPECT_EQ(r.status, SignatureCheck::malformed) << c.field;
    EXPECT_NE(r.reason.find(c.reason), std::string::npos) << r.reason;
  }
  json m = s;
  m["signature"] = "abc";
  EXPECT_EQ(check_manifest_signature(m).status, SignatureCheck::malformed);

  // The signature member is outside the signed bytes: anything added to it is
  // unsigned text beside a valid signature, so it is refused by name.
  m = s;
  m["signature"]["note"] = "approved by legal";
  const auto r = check_manifest_signature(m);
  EXPECT_EQ(r.status, SignatureCheck::malformed);
  EXPECT_NE(r.reason.find("signature: unknown field \"note\""), std::string::npos) << r.reason;
}

TEST(Signing, WorkspaceRecordsItsKeyAndRefusesAnotherKeyUnderTheSameId) {
  test::TempWorkspace tw;
  auto store = tw.store();
  const auto keys = store->signing_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].origin, "workspace");
  const auto k = load_key_pair(tw.ws().keys_dir());
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(keys[0].key_id, k->key_id);
  EXPECT_EQ(keys[0].public_key, k->public_hex());
  // Idempotent; the same id with other bytes is refused.
  EXPECT_FALSE(store->add_signing_key({k->key_id, k->public_hex(), "imported", "again", 0}));
  EXPECT_THROW(store->add_signing_key({k->key_id, std::string(64, '0'), "imported", "x", 0}),
               InputError);
  const KeyPair other = generate_key_pair();
  EXPECT_TRUE(store->add_signing_key({other.key_id, other.public_hex(), "imported", "audit", 0}));
  EXPECT_EQ(store->find_signing_key(other.key_id)->label, "audit");
  EXPECT_EQ(store->signing_keys().size(), 2u);
  // An older workspace without keys/ gets its key on first need, recorded once.
  fs::remove_all(tw.ws().keys_dir());
  const KeyPair made = workspace_signing_key(tw.ws().dir(), *store);
  EXPECT_NE(made.key_id, k->key_id);
  EXPECT_EQ(store->find_signing_key(made.key_id)->origin, "workspace");
}

TEST(Signing, NestingDepthIsMeasuredWithoutParsing) {
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": "]]}}[[["}]})"), 3u);
  EXPECT_EQ(json_nesting_depth(R"("\"[" )"), 0u);
  EXPECT_EQ(json_nesting_depth(std::string(100000, '[')), 100000u);  // refused before parsing
  EXPECT_LE(json_nesting_depth(sample_manifest().dump()), kMaxManifestDepth);
}
