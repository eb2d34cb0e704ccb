// The provenance library on real files and a real SQLite workspace: the
// verification policy (each check a finding of its own, the verdict valid only
// when all pass, unreadable files refused rather than judged, the redraw compared
// by the policy whatever draws it) and tracing a file back to an asset by exact
// bytes, by its embedded manifest and by the nearest perceptual hash in the
// workspace's hash index.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "media/hash/stored_hashes.h"
#include "media/hash/synthetic_hashes.h"
#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_hashes.h"
#include "provenance/embedded_prompt.h"
#include "provenance/generation_manifest.h"
#include "provenance/trace.h"
#include "provenance/verify_policy.h"
#include "provenance/workspace_key.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::provenance;
using namespace atelier::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A 64x64 RGB scene of soft waves and a bright box: structure enough for a
// confident PDQ hash; `variant` moves both, so that scenes differ in shape.
media::Image scene(int variant) {
  media::Image img;
  img.width = img.height = 64;
  img.channels = 3;
  img.pixels.resize(64 * 64 * 3);
  const double f = 0.09 + 0.05 * variant;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      const bool box = x > 10 + 9 * variant && x < 30 + 9 * variant && y > 20 && y < 44;
      const double v = 128 + 90 * std::sin(x * f + variant) * std::cos(y * f * 1.3);
      const auto base = static_cast<size_t>((y * 64 + x) * 3);
      img.pixels[base] = static_cast<uint8_t>(box ? 240 : v);
      img.pixels[base + 1] = static_cast<uint8_t>(box ? 230 : 255 - v);
      img.pixels[base + 2] = static_cast<uint8_t>(v / 2 + 40 * variant);
    }
  return img;
}

GenerationFacts facts(int64_t job = 7) {
  GenerationFacts f;
  f.prompt = "a red bicycle";
  f.negative_prompt = "blurry";
  f.steps = 4;
  f.sampler = "Euler";
  f.cfg = 5;
  f.seed = 11;
  f.width = f.height = 64;
  f.model_name = "tiny";
  f.model_sha256 = std::string(64, 'a');
  f.threads = 1;
  f.libtorch = "2.1.0";
  f.run_id = 1;
  f.job_id = job;
  f.stage = "generate";
  return f;
}

fs::path write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return p;
}

// The file's PNG with the manifest (signed with `key`) and parameters of `f`
// drawn for `drawn`, but the pixels of `shown`.
std::vector<uint8_t> png_with_manifest(const json& manifest, const media::Image& shown,
                                       std::vector<media::PngText> extra = {}) {
  std::vector<media::PngText> texts = {{"parameters", parameters_text(facts()), false},
                                       {kManifestKeyword, manifest.dump(), true}};
  for (auto& t : extra) texts.push_back(std::move(t));
  return media::encode_png(shown, texts);
}

std::vector<std::string> statuses(const VerifyResult& r) {
  std::vector<std::string> out;
  for (const Finding& f : r.findings) out.push_back(f.check + ":" + f.status);
  return out;
}

using V = std::vector<std::string>;

class ProvenanceVerify : public ::testing::Test {
 protected:
  TempWorkspace tw;
  std::unique_ptr<Store> store = tw.store();
  KeyPair key = workspace_signing_key(tw.ws().dir(), *store);
  media::Image img = scene(0);
  json manifest = sign_manifest(manifest_json(facts(), img, 1000), key);
  fs::path file(const std::string& name, const std::vector<uint8_t>& bytes) {
    return write_bytes(tw.dir() / name, bytes);
  }
};

}  // namespace

TEST_F(ProvenanceVerify, ASignedGeneratedPngPassesEveryCheck) {
  const auto p = file("ok.png", encode_generated_png(facts(), img, 1000, &key));
  const VerifyResult r = verify_png(*store, p, "ok.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:valid",
                            "parameters:match", "pixels:match", "key:workspace"}));
  EXPECT_TRUE(r.valid());
  ASSERT_TRUE(r.manifest.has_value());
  EXPECT_EQ((*r.manifest)["format"], "atelier-manifest/2");
  EXPECT_EQ((*r.manifest)["job"], 7);
  const json j = r.to_json();
  EXPECT_EQ(j["file"], "ok.png");
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["checks"].size(), 6u);
  EXPECT_EQ(j["checks"][5]["message"], key.key_id + " (this workspace's key)");
}

TEST_F(ProvenanceVerify, ChangedPixelsFailOnlyThePixelCheck) {
  media::Image edited = img;
  edited.pixels[100] ^= 0x40;
  const VerifyResult r =
      verify_png(*store, file("edited.png", png_with_manifest(manifest, edited)), "edited.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:valid",
                            "parameters:match", "pixels:changed", "key:workspace"}));
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r.findings[4].ok);
}

TEST_F(ProvenanceVerify, AManifestEditedAfterSigningIsAMismatchWithNoKeyVerdict) {
  json m = manifest;
  m["generation"]["seed"] = 12;
  const VerifyResult r = verify_png(*store, file("m.png", png_with_manifest(m, img)), "m.png");
  // Only a valid signature says who signed, so trust is not asked.
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:mismatch",
                            "parameters:match", "pixels:match"}));
  EXPECT_NE(r.findings[2].message.find(key.key_id), std::string::npos);
  EXPECT_FALSE(r.valid());

  m = manifest;
  m["signature"] = nullptr;
  EXPECT_EQ(statuses(verify_png(*store, file("u.png", png_with_manifest(m, img)), "u.png")),
            (V{"manifest:present", "fields:known", "signature:unsigned", "parameters:match",
               "pixels:match"}));
}

TEST_F(ProvenanceVerify, AnotherWorkspacesKeyIsUnknownUntilImported) {
  const KeyPair other = generate_key_pair();
  const json m = sign_manifest(manifest_json(facts(), img, 1000), other);
  const fs::path p = file("other.png", png_with_manifest(m, img));
  VerifyResult r = verify_png(*store, p, "other.png");
  EXPECT_EQ(r.findings.back().check + ":" + r.findings.back().status, "key:unknown");
  EXPECT_FALSE(r.valid());
  ASSERT_TRUE(store->add_signing_key({other.key_id, other.public_hex(), "imported", "agency", 0}));
  r = verify_png(*store, p, "other.png");
  EXPECT_EQ(r.findings.back().status, "imported");
  EXPECT_EQ(r.findings.back().message, other.key_id + " (imported: agency)");
  EXPECT_TRUE(r.valid());
}

TEST_F(ProvenanceVerify, UnreadableFilesAreRefusedAndBrokenManifestsEndTheChecks) {
  EXPECT_THROW(verify_png(*store, tw.dir() / "missing.png", "missing.png"), Unreadable);
  EXPECT_THROW(require_regular_file(tw.dir(), "dir"), Unreadable);
  const fs::path text = tw.write_file("notes.png", "not a png at all");
  try {
    verify_png(*store, text, "notes.png");
    FAIL() << "a text file was judged";
  } catch (const Unreadable& e) {
    EXPECT_NE(std::string(e.what()).find("verify reads the Atelier manifest"), std::string::npos)
        << e.what();
  }
  VerifyResult r = verify_png(*store, file("plain.png", media::encode_png(img)), "plain.png");
  EXPECT_EQ(statuses(r), (V{"manifest:missing"}));
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r.manifest.has_value());

  r = verify_png(*store,
                 file("bad.png", media::encode_png(img, {{kManifestKeyword, "{\"job\": ", true}})),
                 "bad.png");
  EXPECT_EQ(statuses(r), (V{"manifest:not_json"}));
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  r = verify_png(*store, file("deep.png", media::encode_png(img, {{kManifestKeyword, deep, true}})),
                 "deep.png");
  EXPECT_EQ(statuses(r), (V{"manifest:not_json"}));
  EXPECT_NE(r.findings[0].message.find("nests deeper"), std::string::npos);
}

TEST_F(ProvenanceVerify, TheRedrawIsComparedByThePolicy) {
  const auto p = file("ok.png", encode_generated_png(facts(), img, 1000, &key));
  json seen;
  Regenerated redrawn{img, "tiny.safetensors", 1, 0.5, "2.1.0"};
  Regenerator same = [&](const json& m) {
    seen = m;
    return redrawn;
  };
  VerifyResult r = verify_png(*store, p, "ok.png", &same);
  EXPECT_EQ(seen["generation"]["seed"], 11) << "the callback gets the file's manifest";
  EXPECT_EQ(r.findings.back().status, "identical");
  EXPECT_EQ(r.findings.back().message, "identical pixels (threads 1, 0.50 s)");
  EXPECT_TRUE(r.valid());

  redrawn.image.pixels[0] ^= 0x10;
  redrawn.image.pixels[5] = static_cast<uint8_t>(redrawn.image.pixels[5] + 3);
  redrawn.libtorch = "2.4.0";
  r = verify_png(*store, p, "ok.png", &same);
  EXPECT_EQ(r.findings.back().status, "differ");
  EXPECT_EQ(r.findings.back().message,
            "2 of 4096 pixels differ (largest channel difference 16) (threads 1, 0.50 s); drawn "
            "with libtorch 2.1.0, redrawn with 2.4.0");
  EXPECT_FALSE(r.valid());

  redrawn.image = scene(1);
  redrawn.image.width = 32;
  EXPECT_EQ(compare_regenerated(img, redrawn, manifest).status, "size");
}

namespace {

// `text` with `insert` put right after the first occurrence of `after`.
std::string inserted(std::string text, const std::string& after, const std::string& insert) {
  const auto at = text.find(after);
  EXPECT_NE(at, std::string::npos) << after;
  return text.insert(at + after.size(), insert);
}

std::string message_of(const VerifyResult& r, const std::string& check) {
  for (const Finding& f : r.findings)
    if (f.check == check) return f.message;
  return "(no " + check + " finding)";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_F(ProvenanceVerify, ARepeatedKeyMakesTheManifestAmbiguousWhereverItIs) {
  const std::string genuine = manifest.dump();
  const std::string params = parameters_text(facts());
  auto verify_text = [&](const std::string& name, const std::string& text) {
    return verify_png(*store,
                      file(name, media::encode_png(img, {{"parameters", params, false},
                                                         {kManifestKeyword, text, true}})),
                      name);
  };
  // The forged value first: a parser that keeps the last value (ours) reads the
  // signed manifest, so the signature alone would call it valid.
  const std::string forged =
      inserted(genuine, "\"generation\":{", "\"prompt\":\"a blue bicycle\",");
  ASSERT_EQ(check_manifest_signature(json::parse(forged)).status, SignatureCheck::valid);
  VerifyResult r = verify_text("dup.png", forged);
  EXPECT_EQ(statuses(r), (V{"manifest:ambiguous"}));
  EXPECT_TRUE(has(r.findings[0].message, "key prompt appears twice in generation"))
      << r.findings[0].message;
  EXPECT_FALSE(r.valid());

  r = verify_text("top.png", inserted(genuine, "{", "\"job\":99,"));
  EXPECT_TRUE(has(r.findings[0].message, "key job appears twice in the top-level object"))
      << r.findings[0].message;
  r = verify_text("array.png", inserted(genuine, "\"models\":[{", "\"name\":\"other\","));
  EXPECT_TRUE(has(r.findings[0].message, "key name appears twice in models[0]"))
      << r.findings[0].message;
  // The same key spelt with an escape is the same key.
  r = verify_text("escaped.png",
                  inserted(genuine, "\"generation\":{", "\"pro\\u006dpt\":\"a blue bicycle\","));
  EXPECT_EQ(statuses(r), (V{"manifest:ambiguous"}));
  // Inside the job's free-form params too.
  json with_params = manifest_json(facts(), img, 1000);
  with_params["params"] = {{"prompt", "a red bicycle"}};
  const std::string p2 = sign_manifest(with_params, key).dump();
  r = verify_text("params.png", inserted(p2, "\"params\":{", "\"prompt\":\"x\","));
  EXPECT_TRUE(has(r.findings[0].message, "key prompt appears twice in params"))
      << r.findings[0].message;
}

TEST_F(ProvenanceVerify, ASecondManifestChunkIsAmbiguous) {
  json other = manifest_json(facts(), img, 1000);
  other["generation"]["prompt"] = "a blue bicycle";
  other = sign_manifest(other, key);  // both copies validly signed by the workspace
  const std::string params = parameters_text(facts());
  VerifyResult r = verify_png(
      *store,
      file("two.png", media::encode_png(img, {{"parameters", params, false},
                                              {kManifestKeyword, other.dump(), true},
                                              {kManifestKeyword, manifest.dump(), true}})),
      "two.png");
  EXPECT_EQ(statuses(r), (V{"manifest:ambiguous"}));
  EXPECT_TRUE(has(r.findings[0].message, "2 Atelier manifests")) << r.findings[0].message;
  // Even two identical copies: a file carries one.
  r = verify_png(
      *store,
      file("same.png", media::encode_png(img, {{"parameters", params, false},
                                               {kManifestKeyword, manifest.dump(), true},
                                               {kManifestKeyword, manifest.dump(), true}})),
      "same.png");
  EXPECT_EQ(statuses(r), (V{"manifest:ambiguous"}));
}

TEST_F(ProvenanceVerify, FieldsTheFormatDoesNotDefineAreRefusedEvenWhenSigned) {
  json m = manifest_json(facts(), img, 1000);
  m["generation"]["comment"] = "approved";
  m["approved_by"] = "legal";
  VerifyResult r =
      verify_png(*store, file("extra.png", png_with_manifest(sign_manifest(m, key), img)), "x");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:invalid", "signature:valid",
                            "parameters:match", "pixels:match", "key:workspace"}));
  EXPECT_FALSE(r.valid());
  EXPECT_TRUE(has(message_of(r, "fields"), "unknown field approved_by")) << message_of(r, "fields");
  EXPECT_TRUE(has(message_of(r, "fields"), "unknown field generation.comment"));

  m = manifest_json(facts(), img, 1000);
  m.erase("libtorch");
  m["run"] = "1";
  r = verify_png(*store, file("lacking.png", png_with_manifest(sign_manifest(m, key), img)), "x");
  EXPECT_TRUE(has(message_of(r, "fields"), "missing field libtorch")) << message_of(r, "fields");
  EXPECT_TRUE(has(message_of(r, "fields"), "run must be an integer"));
  EXPECT_FALSE(r.valid());

  // An extra member of the signature itself (outside the signed bytes).
  json s = manifest;
  s["signature"]["comment"] = "checked by legal";
  r = verify_png(*store, file("sig.png", png_with_manifest(s, img)), "sig.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:malformed",
                            "parameters:match", "pixels:match"}));
  EXPECT_TRUE(has(message_of(r, "signature"), "unknown field \"comment\""));

  json unknown = manifest;
  unknown["format"] = "atelier-manifest/3";
  r = verify_png(*store, file("v3.png", png_with_manifest(unknown, img)), "v3.png");
  EXPECT_EQ(statuses(r), (V{"manifest:unknown_format"}));
  unknown.erase("format");
  r = verify_png(*store, file("none.png", png_with_manifest(unknown, img)), "none.png");
  EXPECT_EQ(statuses(r), (V{"manifest:unknown_format"}));
}

TEST_F(ProvenanceVerify, AnEditedOrRemovedParametersChunkIsNamed) {
  GenerationFacts forged = facts();
  forged.prompt = "a blue bicycle";
  const std::string m = manifest.dump();
  VerifyResult r = verify_png(
      *store,
      file("edited.png", media::encode_png(img, {{"parameters", parameters_text(forged), false},
                                                 {kManifestKeyword, m, true}})),
      "edited.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:valid",
                            "parameters:changed", "pixels:match", "key:workspace"}));
  EXPECT_EQ(message_of(r, "parameters"),
            "changed: the parameters text differs from the signed values (the prompt differs)");
  EXPECT_FALSE(r.valid());
  forged = facts();
  forged.seed = 12;
  r = verify_png(
      *store,
      file("seed.png", media::encode_png(img, {{"parameters", parameters_text(forged), false},
                                               {kManifestKeyword, m, true}})),
      "seed.png");
  EXPECT_TRUE(has(message_of(r, "parameters"), "(Seed differs)")) << message_of(r, "parameters");

  r = verify_png(*store, file("removed.png", media::encode_png(img, {{kManifestKeyword, m, true}})),
                 "removed.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:valid",
                            "parameters:missing", "pixels:match", "key:workspace"}));
  EXPECT_FALSE(r.valid());
  r = verify_png(
      *store,
      file("twice.png",
           png_with_manifest(manifest, img, {{"parameters", parameters_text(facts()), false}})),
      "twice.png");
  EXPECT_EQ(r.findings[3].status, "ambiguous");
  EXPECT_FALSE(r.valid());
}

TEST_F(ProvenanceVerify, AFormatOneRecordVerifiesUnderItsOwnRules) {
  // As manifests were signed before format 2: no parameters_sha256, and a
  // record old enough to predate batch.
  json v1 = manifest_json(facts(), img, 1000);
  v1["format"] = "atelier-manifest/1";
  v1.erase("parameters_sha256");
  v1["generation"].erase("batch");
  v1["generation"].erase("batch_index");
  const json signed_v1 = sign_manifest(v1, key);
  VerifyResult r = verify_png(*store, file("v1.png", png_with_manifest(signed_v1, img)), "v1.png");
  EXPECT_EQ(statuses(r), (V{"manifest:present", "fields:known", "signature:valid",
                            "parameters:match", "pixels:match", "key:workspace"}));
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(message_of(r, "manifest"), "present (atelier-manifest/1)");

  // Its parameters text is compared with the signed prompt and settings.
  GenerationFacts forged = facts();
  forged.negative_prompt = "sharp";
  r = verify_png(
      *store,
      file("v1-edited.png", media::encode_png(img, {{"parameters", parameters_text(forged), false},
                                                    {kManifestKeyword, signed_v1.dump(), true}})),
      "v1-edited.png");
  EXPECT_EQ(message_of(r, "parameters"),
            "changed: the parameters text differs from the signed values (the negative prompt "
            "differs)");
  EXPECT_FALSE(r.valid());
  // A field format 1 never had is unknown there.
  json odd = v1;
  odd["parameters_sha256"] = std::string(64, 'a');
  r = verify_png(*store, file("v1-odd.png", png_with_manifest(sign_manifest(odd, key), img)), "x");
  EXPECT_TRUE(has(message_of(r, "fields"), "unknown field parameters_sha256"));
  // Repeated keys are refused in every version.
  const std::string dup =
      inserted(signed_v1.dump(), "\"generation\":{", "\"prompt\":\"a blue bicycle\",");
  r = verify_png(
      *store,
      file("v1-dup.png", media::encode_png(img, {{"parameters", parameters_text(facts()), false},
                                                 {kManifestKeyword, dup, true}})),
      "v1-dup.png");
  EXPECT_EQ(statuses(r), (V{"manifest:ambiguous"}));
}

TEST_F(ProvenanceVerify, ChecksReadTheSignedPromptNotTheParametersText) {
  GenerationFacts forged = facts();
  forged.prompt = "a blue bicycle";
  const fs::path p =
      file("forged.png", media::encode_png(img, {{"parameters", parameters_text(forged), false},
                                                 {kManifestKeyword, manifest.dump(), true}}));
  auto e = embedded_prompt(*store, p);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->text, "a red bicycle");
  EXPECT_EQ(e->signed_by, key.key_id);
  EXPECT_EQ(e->source, "signed manifest (key " + key.key_id + ")");

  // Unsigned, or signed by a key this workspace does not trust: every claim.
  json m = manifest;
  m["signature"] = nullptr;
  e = embedded_prompt(
      *store,
      file("unsigned.png", media::encode_png(img, {{"parameters", parameters_text(forged), false},
                                                   {kManifestKeyword, m.dump(), true}})));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->text, "a blue bicycle\na red bicycle");
  EXPECT_EQ(e->signed_by, "");
  EXPECT_EQ(e->source, "unverified manifest and parameters chunk");
  const json theirs = sign_manifest(manifest_json(facts(), img, 1000), generate_key_pair());
  e = embedded_prompt(*store, file("theirs.png", png_with_manifest(theirs, img)));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->signed_by, "");
  e = embedded_prompt(
      *store, file("a1111.png",
                   media::encode_png(
                       img, {{"parameters", "a cat\nSteps: 20, Seed: 1, Size: 64x64", false}})));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->text, "a cat");
  EXPECT_EQ(e->source, "unsigned parameters chunk");
  EXPECT_FALSE(embedded_prompt(*store, file("plain.png", media::encode_png(img))).has_value());
}

namespace {

// A workspace with one job that made a signed generated PNG (hashed as the
// worker hashes its outputs) and an imported image of another scene.
class ProvenanceTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    store->submit_run(simple_run("trace", 1));
    const Lease l = store->claim({"w", 1, {"sleep"}, 1, 1000, (tw.dir() / "logs").string()}).at(0);
    job = l.job_id;
    const KeyPair key = workspace_signing_key(tw.ws().dir(), *store);
    made = encode_generated_png(facts(job), img, 1000, &key);
    const StoredFile f = files.put_bytes(
        std::string_view(reinterpret_cast<const char*>(made.data()), made.size()), "png");
    sha = f.sha256;
    OutputAsset out{sha, "image/png", "png", static_cast<int64_t>(made.size()), "image_0.png"};
    out.width = out.height = 64;
    out.hashes = to_asset_hashes(media::hash_png_file(f.path)->hashes);
    ASSERT_TRUE(media::hash_image(img).hashable());
    store->complete({{job, l.attempt, {out}, {}}});

    const auto other = media::encode_png(scene(2));
    const StoredFile o = files.put_bytes(
        std::string_view(reinterpret_cast<const char*>(other.data()), other.size()), "png");
    other_sha = o.sha256;
    ImportedAsset imp{other_sha, "image/png", "png", "/brand/other.png",
                      static_cast<int64_t>(other.size())};
    imp.hashes = to_asset_hashes(media::hash_png_file(o.path)->hashes);
    store->import_asset(imp);
  }

  Located find(const fs::path& p) {
    return locate(*store, files, p.string(), [](const fs::path&) -> media::Image {
      throw media::ImageError("only PNGs in this test");
    });
  }

  TempWorkspace tw;
  std::unique_ptr<Store> store = tw.store();
  AssetStore files = tw.ws().asset_store();
  media::Image img = scene(0);
  std::vector<uint8_t> made;
  int64_t job = 0;
  std::string sha, other_sha;
};

}  // namespace

TEST_F(ProvenanceTrace, TheExactBytesAndABareSha256AreFoundAsSuch) {
  const Located a = find(write_bytes(tw.dir() / "copy.png", made));
  EXPECT_EQ(a.how, "sha256");
  EXPECT_EQ(a.sha256, sha);
  const Located b = find(other_sha);
  EXPECT_EQ(b.how, "sha256");
  EXPECT_EQ(b.sha256, other_sha);
  EXPECT_THROW(find(tw.dir() / "nothing.png"), InputError);
}

TEST_F(ProvenanceTrace, ACopyWithOtherBytesIsFoundByItsEmbeddedManifest) {
  // Same pixels and manifest, one more text chunk: other bytes, other sha256.
  const media::PngInfo info = media::read_png_metadata_file(files.path_for(sha, "png"));
  const std::string m = *media::find_text(info, kManifestKeyword);
  const auto copy = media::encode_png(img, {{kManifestKeyword, m, true}, {"Comment", "edited"}});
  const Located l = find(write_bytes(tw.dir() / "recompressed.png", copy));
  EXPECT_EQ(l.how, "manifest");
  EXPECT_EQ(l.sha256, sha);
  EXPECT_EQ(l.detail["job"], "j" + std::to_string(job));
  const KeyPair key = workspace_signing_key(tw.ws().dir(), *store);
  EXPECT_EQ(l.detail["signature"], "valid, by this workspace's key " + key.key_id);
}

TEST_F(ProvenanceTrace, AManifestSignedByAnImportedKeyIsNotCalledThisWorkspaces) {
  const media::PngInfo info = media::read_png_metadata_file(files.path_for(sha, "png"));
  json m = json::parse(*media::find_text(info, kManifestKeyword));
  const KeyPair partner = generate_key_pair();
  m = sign_manifest(m, partner);
  ASSERT_TRUE(
      store->add_signing_key({partner.key_id, partner.public_hex(), "imported", "agency", 0}));
  const auto copy = media::encode_png(img, {{kManifestKeyword, m.dump(), true}});
  const Located l = find(write_bytes(tw.dir() / "partner.png", copy));
  EXPECT_EQ(l.how, "manifest");
  EXPECT_EQ(l.detail["signature"], "valid, by imported key " + partner.key_id + " (agency)");
}

TEST_F(ProvenanceTrace, AStrippedEditedCopyIsFoundByTheNearestHash) {
  media::Image edited = img;
  for (auto& p : edited.pixels) p = static_cast<uint8_t>(std::min(255, p + 6));
  edited.pixels[0] = 0;
  const Located l = find(write_bytes(tw.dir() / "stripped.png", media::encode_png(edited)));
  EXPECT_EQ(l.how, "similarity");
  EXPECT_EQ(l.sha256, sha);
  EXPECT_LE(l.detail["pdq_distance"].get<int>(), kTraceRadius);
  EXPECT_EQ(l.detail["radius"], kTraceRadius);
  EXPECT_FALSE(l.detail.contains("manifest")) << "the copy carries none";

  // The imported scene is found the same way, not the generated one.
  media::Image other = scene(2);
  other.pixels[3] ^= 1;
  EXPECT_EQ(find(write_bytes(tw.dir() / "o.png", media::encode_png(other))).sha256, other_sha);
}

TEST_F(ProvenanceTrace, NoMatchNamesTheNearestAndFlatImagesAreUnhashable) {
  media::Image flat = img;
  std::fill(flat.pixels.begin(), flat.pixels.end(), 90);
  try {
    find(write_bytes(tw.dir() / "flat.png", media::encode_png(flat)));
    FAIL() << "a flat image was matched";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("unhashable"), std::string::npos) << e.what();
  }
  // A mosaic of random grey blocks: unrelated to both stored scenes (as unrelated
  // images are, about 128 bits away), so nothing is within the radius.
  media::Image far = img;
  std::mt19937 rng(9);
  std::vector<uint8_t> block(64);
  for (auto& v : block) v = static_cast<uint8_t>(rng() % 256);
  for (size_t i = 0; i < far.pixels.size(); ++i) {
    const size_t x = (i / 3) % 64, y = (i / 3) / 64;
    far.pixels[i] = block[y / 8 * 8 + x / 8];
  }
  const media::ImageHashes fh = media::hash_image(far);
  ASSERT_TRUE(fh.hashable());
  ASSERT_GT(media::hamming(fh.pdq, media::hash_image(img).pdq), kTraceRadius);
  ASSERT_GT(media::hamming(fh.pdq, media::hash_image(scene(2)).pdq), kTraceRadius);
  try {
    const Located l = find(write_bytes(tw.dir() / "far.png", media::encode_png(far)));
    FAIL() << "matched " << l.sha256 << " at " << l.detail.dump();
  } catch (const Failure& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("matches nothing in this workspace"), std::string::npos) << what;
    EXPECT_NE(what.find("bits of 256 away"), std::string::npos) << what;
  }
}

TEST(ProvenanceTraceIndex, NearestAgreesWithAScanAndSkipsUnhashableImages) {
  std::mt19937_64 rng(5);
  const std::string colour = media::ImageHashes{}.colour_hex();
  std::vector<std::pair<std::string, AssetHashes>> stored;
  std::vector<media::Pdq256> hashes;
  for (int k = 0; k < 300; ++k) {
    hashes.push_back(k % 3 == 0 && k > 0 ? media::flip_bits(hashes[k - 1], 20, rng)
                                         : media::random_hash(rng));
    stored.push_back(
        {"sha" + std::to_string(k), {hashes.back().hex(), k % 7 == 0 ? 10 : 90, colour}});
  }
  const StoredImageIndex index(stored);
  EXPECT_EQ(index.size(), 300u - 43u) << "quality 10 is unhashable";
  for (int q = 0; q < 60; ++q) {
    media::ImageHashes query;
    query.quality = 100;
    query.pdq = q % 2 ? media::random_hash(rng) : media::flip_bits(hashes[q * 4], 12, rng);
    int best = 257;
    std::string want;
    for (size_t k = 0; k < hashes.size(); ++k)
      if (k % 7 != 0)
        if (const int d = media::hamming(hashes[k], query.pdq); d < best) {
          best = d;
          want = stored[k].first;
        }
    const auto got = index.nearest(query);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->sha256, want) << "query " << q;
    EXPECT_EQ(got->pdq_distance, best) << "query " << q;
  }
  EXPECT_FALSE(StoredImageIndex({}).nearest(media::ImageHashes{}).has_value());
}
