// Signed manifests end to end, with real `atelier` processes and real files:
// `init` makes a 0600 key and records its id; a PNG a `generate` job wrote
// verifies; one changed character of the embedded prompt, one changed pixel, a
// foreign key, a missing or non-JSON manifest are each caught and named;
// `verify --regenerate` redraws identical pixels; a file that is not a PNG, and a
// PNG with a 100 MB text chunk, are refused as unreadable (exit 2) without
// reading the chunk into memory. Tampered files are rebuilt with encode_png from
// the original pixels and texts, so every CRC is right and only the one thing
// changed differs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_store.h"
#include "provenance/signing.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

// A workspace whose one run drew one image with the tiny model; `png` is its
// asset file.
struct Generated {
  TempWorkspace tw{fast_config()};
  fs::path png;
  Generated() {
    write_tiny_model(tw.dir() / "models", "tiny");
    auto spec = tw.write_file("gen.yaml", R"(version: 1
name: gen
stages:
  - id: art
    kind: generate
    with: {prompt: "red apple, flat icon", negative: blurry, model: tiny, count: 2, batch: 2,
           seed: 5, steps: 3, sampler: Euler a, cfg: 4.5}
)");
    ProcResult r = run_atelier({"-w", w(), "run", spec.string(), "--workers", "generate=1"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto assets = tw.store()->list_assets(1);
    EXPECT_EQ(assets.size(), 2u);
    if (assets.empty()) return;
    png = AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir())
              .path_for(assets[1].sha256, assets[1].ext);
  }
  std::string w() const { return tw.dir().string(); }
  ProcResult verify(const fs::path& f, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"-w", w(), "verify", f.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_atelier(args);
  }
};

// The file's pixels and texts, to re-encode with one thing changed.
struct Parts {
  media::Image img;
  std::vector<media::PngText> texts;
  std::string& text(const std::string& keyword) {
    for (auto& t : texts)
      if (t.keyword == keyword) return t.text;
    throw std::runtime_error("no text " + keyword);
  }
};

Parts parts_of(const fs::path& f) {
  return {media::read_png(f, 0), media::read_png_metadata_file(f).texts};
}

fs::path write(const fs::path& f, const Parts& p) {
  media::write_png(f, p.img, p.texts);
  return f;
}

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs atelier and reports its peak resident memory (KiB) from wait4. The peak
// includes the forked copy of this test process before exec, so compare runs
// with each other rather than with a fixed bound.
struct Measured {
  int exit_code = -1;
  long max_rss_kib = 0;
  std::string err;
};
Measured run_measured(const std::vector<std::string>& args) {
  std::vector<std::string> full{ATELIER_BIN};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  char err_tmpl[] = "/tmp/atelier-err-XXXXXX";
  const int err_fd = ::mkostemp(err_tmpl, O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(err_fd);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  Measured m;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.max_rss_kib = ru.ru_maxrss;
  std::ifstream in(err_tmpl);
  std::stringstream ss;
  ss << in.rdbuf();
  m.err = ss.str();
  ::unlink(err_tmpl);
  return m;
}

void put32(std::ostream& out, std::uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(b, 4);
}

// `png` with a tEXt chunk of `bytes` bytes (keyword "big") after IHDR, written
// in pieces with its real CRC, so the test never holds it in memory either.
void write_with_big_text(const fs::path& png, const fs::path& out, std::size_t bytes) {
  std::ifstream in(png, std::ios::binary);
  const std::string src((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream o(out, std::ios::binary);
  o.write(src.data(), 33);  // signature and IHDR
  put32(o, static_cast<std::uint32_t>(bytes));
  const std::string head = "tEXtbig";
  o.write(head.data(), 7);
  o.put('\0');
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(head.data()), 7);
  const Bytef nul = 0;
  crc = crc32(crc, &nul, 1);
  const std::string block(1 << 20, 'a');
  for (std::size_t left = bytes - 4; left > 0;) {
    const std::size_t n = std::min(left, block.size());
    o.write(block.data(), static_cast<std::streamsize>(n));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(n));
    left -= n;
  }
  put32(o, static_cast<std::uint32_t>(crc));
  o.write(src.data() + 33, static_cast<std::streamsize>(src.size() - 33));
}

}  // namespace

TEST(ProvenanceSign, InitMakesAPrivateKeyAndRecordsItsId) {
  const fs::path dir =
      fs::temp_directory_path() / ("atelier-init-key-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ProcResult r = run_atelier({"init", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "keys/workspace.ed25519").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 64);
  ASSERT_TRUE(fs::exists(dir / "keys/workspace.pub"));

  r = run_atelier({"-w", dir.string(), "key", "export"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto exported = nlohmann::json::parse(r.out);
  EXPECT_EQ(exported["alg"], "Ed25519");
  const auto pk = provenance::from_hex(exported["public_key"].get<std::string>(), 32);
  ASSERT_TRUE(pk.has_value());
  EXPECT_EQ(exported["key_id"], provenance::sha256_hex(*pk).substr(0, 16));
  std::ifstream pub(dir / "keys/workspace.pub");
  std::string hex;
  pub >> hex;
  EXPECT_EQ(hex, exported["public_key"]);

  r = run_atelier({"-w", dir.string(), "--json", "key", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto keys = nlohmann::json::parse(r.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["key_id"], exported["key_id"]);
  EXPECT_EQ(keys[0]["origin"], "workspace");
  // init again keeps the key.
  ASSERT_EQ(run_atelier({"init", dir.string()}).exit_code, 0);
  r = run_atelier({"-w", dir.string(), "key", "export"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["key_id"], exported["key_id"]);
  fs::remove_all(dir);
}

TEST(ProvenanceSign, AGeneratedPngVerifiesAndTamperingIsNamed) {
  Generated g;
  ASSERT_FALSE(g.png.empty());
  const auto manifest =
      nlohmann::json::parse(*media::find_text(media::read_png_metadata_file(g.png), "atelier"));
  const auto own = provenance::load_key_pair(g.tw.ws().keys_dir());
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(manifest["signature"]["key_id"], own->key_id);
  EXPECT_EQ(manifest["generation"]["batch"], 2);

  ProcResult r = g.verify(g.png);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, ": valid")) << r.out;
  EXPECT_TRUE(has(r.out, "this workspace's key")) << r.out;
  r = g.verify(g.png, {"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["valid"], true) << r.out;

  // One character of the prompt, inside the signed manifest.
  Parts p = parts_of(g.png);
  std::string& m = p.text("atelier");
  const auto at = m.find("\"prompt\":\"red apple");
  ASSERT_NE(at, std::string::npos) << m;
  m[at + 11] = 'o';  // "rod apple"
  r = g.verify(write(g.tw.dir() / "prompt.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL signature: does not match the manifest")) << r.out;
  EXPECT_TRUE(has(r.out, "ok   pixels: match")) << r.out;
  r = g.verify(g.tw.dir() / "prompt.png", {"--json"});
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["checks"][2]["check"], "signature");
  EXPECT_EQ(j["checks"][2]["status"], "mismatch");

  // One pixel, with the manifest untouched.
  p = parts_of(g.png);
  p.img.pixels[7] ^= 1;
  r = g.verify(write(g.tw.dir() / "pixel.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL pixels: changed")) << r.out;
  EXPECT_TRUE(has(r.out, "ok   signature: valid")) << r.out;

  // The recorded generation, redrawn (the second image of a batch of two).
  r = g.verify(g.png, {"--regenerate"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   regenerate: identical pixels")) << r.out;
  r = g.verify(g.tw.dir() / "pixel.png", {"--regenerate"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL regenerate: 1 of 256 pixels differ")) << r.out;
}

TEST(ProvenanceSign, BadInputsGetAClearAnswer) {
  Generated g;
  ASSERT_FALSE(g.png.empty());
  const Parts original = parts_of(g.png);

  // Not an image at all.
  const auto text = g.tw.write_file("notes.png", "just some text\n");
  ProcResult r = g.verify(text);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "notes.png: not a PNG file")) << r.err;
  r = g.verify(g.tw.dir() / "missing.png");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "missing.png: no such file")) << r.err;

  // A 100 MB text chunk: refused from its header, without a 100 MB allocation.
  const fs::path big = g.tw.dir() / "big.png";
  write_with_big_text(g.png, big, 100u << 20);
  ASSERT_GT(fs::file_size(big), 100u << 20);
  const Measured mb = run_measured({"-w", g.w(), "verify", big.string()});
  EXPECT_EQ(mb.exit_code, 2) << mb.err;
  EXPECT_TRUE(has(mb.err, "chunk 'tEXt' at byte 33: 104857600 bytes, over the 8 MiB limit"))
      << mb.err;
  const Measured small = run_measured({"-w", g.w(), "verify", g.png.string()});
  EXPECT_EQ(small.exit_code, 0) << small.err;
  EXPECT_LT(mb.max_rss_kib - small.max_rss_kib, 32 * 1024) << "verify read the chunk into memory";
  fs::remove(big);

  // A manifest that is not JSON, and none at all.
  Parts p = original;
  p.text("atelier") = "{\"format\": \"atelier-manifest/1\", oops";
  r = g.verify(write(g.tw.dir() / "notjson.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL manifest: the manifest (iTXt chunk 'atelier') is not JSON"))
      << r.out;
  p = original;
  p.texts.erase(std::remove_if(p.texts.begin(), p.texts.end(),
                               [](const media::PngText& t) { return t.keyword == "atelier"; }),
                p.texts.end());
  r = g.verify(write(g.tw.dir() / "bare.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL manifest: no Atelier manifest")) << r.out;

  // Signed by another workspace's key: valid, but not a key this one trusts ...
  TempWorkspace other;
  const auto their = provenance::load_key_pair(other.ws().keys_dir());
  ASSERT_TRUE(their.has_value());
  p = original;
  p.text("atelier") =
      provenance::sign_manifest(nlohmann::json::parse(p.text("atelier")), *their).dump();
  const fs::path foreign = write(g.tw.dir() / "foreign.png", p);
  r = g.verify(foreign);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   signature: valid (Ed25519, key " + their->key_id)) << r.out;
  EXPECT_TRUE(has(
      r.out, "FAIL key: signed by key " + their->key_id + ", which this workspace does not know"))
      << r.out;
  // ... until its exported public key is imported.
  const fs::path pub = g.tw.dir() / "their.pub.json";
  r = run_atelier({"-w", other.dir().string(), "key", "export", "--out", pub.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_atelier({"-w", g.w(), "key", "import", pub.string(), "--label", "agency"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = g.verify(foreign);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   key: " + their->key_id + " (imported: agency)")) << r.out;
  // A key file whose id does not match its key is refused.
  auto forged = nlohmann::json::parse(std::ifstream(pub));
  forged["key_id"] = "0123456789abcdef";
  const auto forged_file = g.tw.write_file("forged.json", forged.dump());
  r = run_atelier({"-w", g.w(), "key", "import", forged_file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "is not the id of public_key")) << r.err;
}

TEST(ProvenanceSign, RegenerateFindsATrainedLoraByItsSha256AndAppliesItsScale) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  fs::create_directories(tw.dir() / "brand");
  for (int i = 0; i < 2; ++i) {
    media::Image img;
    img.width = img.height = 16;
    img.pixels.resize(16 * 16 * 3);
    for (size_t k = 0; k < img.pixels.size(); ++k) img.pixels[k] = uint8_t(k * (7 + i * 5));
    media::write_png(tw.dir() / "brand" / ("b" + std::to_string(i) + ".png"), img);
    std::ofstream(tw.dir() / "brand" / ("b" + std::to_string(i) + ".txt")) << "red apple\n";
  }
  auto spec = tw.write_file("lora.yaml", R"(version: 1
name: lora
stages:
  - id: lora
    kind: train_lora
    with: {images: brand/, model: tiny, name: acme-style, trigger: acme, rank: 2, alpha: 1,
           steps: 2, batch: 2, seed: 1}
  - id: styled
    kind: generate
    needs: lora
    with: {prompt: "acme, red apple", model: tiny, steps: 2, seed: 3,
           loras: [{model: "${lora.model}", scale: 0.8}]}
)");
  const std::string w = tw.dir().string();
  ProcResult r =
      run_atelier({"-w", w, "run", spec.string(), "--workers", "train_lora=1,generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  const auto jobs = store->stage_jobs(1, "styled");
  ASSERT_EQ(jobs.size(), 1u);
  const auto asset = store->get_asset(jobs[0].outputs.at(0));
  const fs::path png =
      AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir()).path_for(asset->sha256, asset->ext);
  const auto manifest =
      nlohmann::json::parse(*media::find_text(media::read_png_metadata_file(png), "atelier"));
  ASSERT_EQ(manifest["models"].size(), 2u);
  EXPECT_EQ(manifest["models"][1]["role"], "lora");
  EXPECT_EQ(manifest["models"][1]["scale"], 0.8);
  r = run_atelier({"-w", w, "verify", png.string(), "--regenerate"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   regenerate: identical pixels")) << r.out;

  // The same manifest with another LoRA scale, re-signed: a valid signature, but
  // the recorded parameters no longer draw these pixels.
  Parts p = parts_of(png);
  auto m = nlohmann::json::parse(p.text("atelier"));
  m["models"][1]["scale"] = 0.2;
  p.text("atelier") =
      provenance::sign_manifest(m, *provenance::load_key_pair(tw.ws().keys_dir())).dump();
  r = run_atelier(
      {"-w", w, "verify", write(tw.dir() / "rescaled.png", p).string(), "--regenerate"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   signature: valid")) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL regenerate: ")) << r.out;
  EXPECT_TRUE(has(r.out, "pixels differ")) << r.out;
}

// Issue 21: what a verifier and a check read must be what was signed. Each of
// these files verified as valid before, and `check --terms` read the forged
// parameters text.
TEST(ProvenanceSign, AmbiguousOrUnsignedContentIsInvalidAndChecksReadTheSignedPrompt) {
  Generated g;
  ASSERT_FALSE(g.png.empty());
  const Parts original = parts_of(g.png);

  // A repeated key, the forged value first: our parser keeps the last (signed)
  // one, a reader that keeps the first sees "green pear".
  Parts p = original;
  std::string& m = p.text("atelier");
  const auto gen = m.find("\"generation\":{");
  ASSERT_NE(gen, std::string::npos) << m;
  m.insert(gen + 14, "\"prompt\":\"green pear, flat icon\",");
  ProcResult r = g.verify(write(g.tw.dir() / "dup.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out,
                  "FAIL manifest: the manifest (iTXt chunk 'atelier') is ambiguous: key "
                  "prompt appears twice in generation"))
      << r.out;

  // A second manifest chunk ahead of the signed one.
  p = original;
  media::PngText forged{"atelier", original.texts[1].text, true};
  ASSERT_EQ(original.texts[1].keyword, "atelier");
  const auto at = forged.text.find("red apple");
  forged.text.replace(at, 9, "green pear");
  p.texts.insert(p.texts.begin(), forged);
  r = g.verify(write(g.tw.dir() / "two.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL manifest: ambiguous: 2 Atelier manifests")) << r.out;

  // An extra member in the signature, which the signature does not cover.
  p = original;
  auto j = nlohmann::json::parse(p.text("atelier"));
  j["signature"]["approved"] = "legal";
  p.text("atelier") = j.dump();
  r = g.verify(write(g.tw.dir() / "sig.png", p));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL signature: malformed: signature: unknown field \"approved\""))
      << r.out;

  // The parameters text edited, then removed: the signed manifest is untouched.
  p = original;
  std::string& params = p.text("parameters");
  ASSERT_EQ(params.rfind("red apple, flat icon", 0), 0u) << params;
  params.replace(0, 9, "green pear");
  const fs::path edited = write(g.tw.dir() / "params.png", p);
  r = g.verify(edited);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   signature: valid")) << r.out;
  EXPECT_TRUE(has(r.out,
                  "FAIL parameters: changed: the parameters text differs from the signed values "
                  "(the prompt differs)"))
      << r.out;
  p.texts.erase(std::remove_if(p.texts.begin(), p.texts.end(),
                               [](const media::PngText& t) { return t.keyword == "parameters"; }),
                p.texts.end());
  r = g.verify(write(g.tw.dir() / "bare-params.png", p), {"--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto v = nlohmann::json::parse(r.out);
  EXPECT_EQ(v["valid"], false);
  bool named = false;
  for (const auto& c : v["checks"])
    if (c["check"] == "parameters") named = c["status"] == "missing" && c["ok"] == false;
  EXPECT_TRUE(named) << r.out;

  // `check --terms` on the edited file scans the signed prompt ("red apple"),
  // not the forged text ("green pear").
  const fs::path rules = g.tw.write_file("rules.json", R"([{"term": "apple", "verdict": "fail"}])");
  r = run_atelier({"-w", g.w(), "--json", "check", "--no-copyright", "--terms", rules.string(),
                   edited.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto checked = nlohmann::json::parse(r.out);
  const auto& terms = checked["files"][0]["checks"][0];
  EXPECT_EQ(terms["check"], "terms") << r.out;
  EXPECT_EQ(terms["verdict"], "fail") << r.out;
  ASSERT_EQ(terms["details"]["hits"].size(), 1u) << r.out;
  EXPECT_EQ(terms["details"]["hits"][0]["field"], "prompt");
  const auto own = provenance::load_key_pair(g.tw.ws().keys_dir());
  EXPECT_EQ(terms["details"]["prompt_source"], "signed manifest (key " + own->key_id + ")");
}

// `verify r1` and `verify EXPORT_DIR`: every file checked, a missing one named
// with where it was expected, the rest still verified (exit 1). Before, verify
// took only a PNG: "r1: no such file", "deliver: not a regular file" (exit 2).
TEST(ProvenanceSign, VerifyingARunOrAnExportNamesMissingFilesAndVerifiesTheRest) {
  Generated g;
  ASSERT_FALSE(g.png.empty());
  // How verify names the two files: stage/output name (job).
  std::string gone, kept;
  for (const AssetRow& a : g.tw.store()->list_assets(1)) {
    const std::string name = "art/" + a.name + " (j" + std::to_string(a.job_id.value_or(0)) + ")";
    (sha256_file(g.png) == a.sha256 ? gone : kept) = name;
  }
  ASSERT_FALSE(gone.empty());
  ASSERT_FALSE(kept.empty());
  ProcResult r = run_atelier({"-w", g.w(), "verify", "r1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "r1: valid (2 of 2 file(s) valid)")) << r.out;
  EXPECT_TRUE(has(r.out, gone + ": valid")) << r.out;

  const fs::path out = g.tw.dir() / "deliver";
  r = run_atelier({"-w", g.w(), "export", "r1", out.string(), "--name", "art_{index}"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_atelier({"-w", g.w(), "--json", "verify", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto v = nlohmann::json::parse(r.out);
  EXPECT_EQ(v["valid"], true);
  ASSERT_EQ(v["files"].size(), 2u) << r.out;
  std::set<std::string> checks;
  for (const auto& c : v["files"][0]["checks"]) checks.insert(c["check"].get<std::string>());
  for (const char* c : {"manifest", "fields", "signature", "key", "file", "embedded_signature",
                        "embedded_parameters", "embedded_pixels"})
    EXPECT_TRUE(checks.count(c)) << c << " in " << r.out;

  // An exported file gone, and a sidecar given an unsigned extra field.
  fs::remove(out / "art_0.png");
  auto sidecar = nlohmann::json::parse(std::ifstream(out / "art_1.manifest.json"));
  sidecar["note"] = "added later";
  std::ofstream(out / "art_1.manifest.json") << sidecar.dump(2);
  r = run_atelier({"-w", g.w(), "verify", out.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL file: missing: expected at " + (out / "art_0.png").string()))
      << r.out;
  EXPECT_TRUE(has(r.err, (out / "art_0.png").string())) << r.err;
  EXPECT_TRUE(has(r.out,
                  "FAIL fields: not what atelier-export-manifest/2 defines: unknown field "
                  "note"))
      << r.out;
  EXPECT_TRUE(has(r.out, "FAIL signature: does not match the manifest")) << r.out;
  EXPECT_TRUE(has(r.out, "INVALID (0 of 2 file(s) valid, 1 missing)")) << r.out;

  // One of the run's asset files deleted from the store: named, the other verified.
  fs::remove(g.png);
  r = run_atelier({"-w", g.w(), "verify", "r1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL file: missing: expected at " + g.png.string())) << r.out;
  EXPECT_TRUE(has(r.out, kept + ": valid")) << r.out;
  EXPECT_TRUE(has(r.out, gone + ": INVALID")) << r.out;
  EXPECT_TRUE(has(r.out, "r1: INVALID (1 of 2 file(s) valid, 1 missing)")) << r.out;
  r = run_atelier({"-w", g.w(), "verify", "r9"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "no such run: r9")) << r.err;
}

// Records signed before format 2 (tests/fixtures/format1: a PNG and an export
// made by the atelier of before, with that workspace's public key) still verify,
// under their own rules: the parameters text is compared with the signed prompt
// and settings, since format 1 does not sign the text itself.
TEST(ProvenanceSign, RecordsSignedBeforeFormatTwoStillVerify) {
  TempWorkspace tw;
  const fs::path fixtures = fs::path(ATELIER_FIXTURES) / "format1";
  const fs::path copy = tw.dir() / "export";
  fs::copy(fixtures / "export", copy);
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "verify", (copy / "art_0.png").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "FAIL key: signed by key")) << r.out;  // not trusted yet
  r = run_atelier({"-w", w, "key", "import", (fixtures / "workspace.pub.json").string(), "--label",
                   "format 1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = run_atelier({"-w", w, "verify", (copy / "art_0.png").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ok   manifest: present (atelier-manifest/1)")) << r.out;
  EXPECT_TRUE(has(r.out, "ok   parameters: match the manifest's prompt and settings")) << r.out;
  r = run_atelier({"-w", w, "verify", copy.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "present (art_0.manifest.json, atelier-export-manifest/1)")) << r.out;

  // The same rules as ever catch an edit of the old record's parameters text.
  Parts p = parts_of(copy / "art_0.png");
  p.text("parameters").insert(0, "green pear, ");
  r = run_atelier({"-w", w, "verify", write(tw.dir() / "edited.png", p).string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out,
                  "FAIL parameters: changed: the parameters text differs from the signed "
                  "values (the prompt differs)"))
      << r.out;
}
