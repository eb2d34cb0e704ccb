// The `check` kind and `atelier check` / `atelier registry` through real
// processes: a generated image that is a near-copy of a registry work is
// quarantined by `gate: fail` with the work's label in its verdict while the
// others go on to the next stage; terms and licence verdicts are recorded; bad
// input (a corrupt file, a 1x1 image, a 30,000 x 30,000 PNG header, an empty
// batch) gets a clear verdict and nothing else is lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "media/png_io.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "provenance/signing.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

namespace fs = std::filesystem;

using namespace atelier;
using namespace atelier::test;

namespace {

const char* kGenerate = R"(
  - id: gen
    kind: generate
    with: {prompt: "red apple, flat icon", model: tiny, count: 4, seed: 21, steps: 3, size: 32}
)";

// A recognisable copy: 10% brighter and saved again, as a re-post would be. (The
// tiny model draws noise, which resizing scrambles more than it would a picture.)
media::Image near_copy(const media::Image& src) {
  media::Image out = src;
  for (size_t i = 0; i < out.pixels.size(); ++i)
    if (i % out.channels < 3)
      out.pixels[i] = static_cast<uint8_t>(std::min(255, out.pixels[i] * 11 / 10));
  return out;
}

// An unrelated drawing: rings of colour.
media::Image rings(int side, int seed) {
  media::Image img{side, side, 3, {}};
  img.pixels.resize(static_cast<size_t>(side) * side * 3);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const int r =
          ((x - side / 3) * (x - side / 3) + (y - side / 2) * (y - side / 2)) / (8 + seed * 5);
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * side + x) * 3];
      p[0] = static_cast<uint8_t>((r * 40 + seed * 70) % 256);
      p[1] = static_cast<uint8_t>((r * 90) % 256);
      p[2] = static_cast<uint8_t>((x * 255) / side);
    }
  return img;
}

// A PNG chunk: length, type, data and the CRC-32 of type and data.
std::string png_chunk(const std::string& type, const std::string& data) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : type + data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc ^ 0xFFFFFFFFu);
}

}  // namespace

TEST(Checks, GateQuarantinesANearCopyOfARegistryWorkAndTheOthersGoOn) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  const std::string w = tw.dir().string();
  auto first =
      tw.write_file("first.yaml", std::string("version: 1\nname: first\nstages:") + kGenerate);
  ProcResult r = run_atelier({"-w", w, "run", first.string(), "--workers", "generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  auto made = store->list_assets(1);
  ASSERT_EQ(made.size(), 4u);
  for (const AssetRow& a : made) {
    auto row = store->get_asset(a.sha256);
    ASSERT_TRUE(row->hashes) << "every generated image is hashed when it is stored";
    EXPECT_GE(row->hashes->quality, 50);
    EXPECT_EQ(row->width, 32);
  }
  // The registry: a near-copy of the second image, and two unrelated works.
  const media::Image copied = media::read_png(asset_file(tw, made[1]), 3);
  fs::create_directories(tw.dir() / "protected" / "more");
  media::write_png(tw.dir() / "protected" / "mascot.png", near_copy(copied));
  media::write_png(tw.dir() / "protected" / "more" / "rings1.png", rings(64, 1));
  media::write_png(tw.dir() / "protected" / "more" / "rings2.png", rings(64, 2));
  r = run_atelier({"-w", w, "--json", "registry", "add", (tw.dir() / "protected").string(),
                   "--label", "ACME protected mascots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(parse_out(r)["added"], 3);
  r = run_atelier({"-w", w, "--json", "registry", "add", (tw.dir() / "protected").string(),
                   "--label", "ACME protected mascots"});
  EXPECT_EQ(parse_out(r)["already_listed"], 3) << "adding again changes nothing";

  // The same generation again (same pixels), now checked and gated.
  auto second = tw.write_file("second.yaml",
                              std::string("version: 1\nname: second\nstages:") + kGenerate + R"(
  - id: vet
    kind: check
    needs: [gen]
    with:
      copyright: true
      terms: [{term: apple, verdict: warn, reason: "a brand name in some markets"}, Nike, 耐克]
      licence: warn
      gate: fail
  - id: publish
    kind: sleep
    for_each: vet
    with: {ms: 1}
)");
  r = run_atelier({"-w", w, "run", second.string(), "--workers", "generate=1,check=1,sleep=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(store->get_run(2)->state, "succeeded");

  std::set<std::string> quarantined;
  std::string copy_sha;
  int copyright_rows = 0, terms_warn = 0, licence_rows = 0;
  for (const CheckRow& c : store->run_checks(2)) {
    EXPECT_EQ(c.gate, "fail");
    ASSERT_TRUE(c.sha256);
    if (c.check_kind == "copyright") {
      ++copyright_rows;
      if (c.verdict == "fail") {
        copy_sha = *c.sha256;
        EXPECT_EQ(c.details["label"], "ACME protected mascots");
        EXPECT_EQ(c.details["registry_matches"][0]["source"].get<std::string>(),
                  fs::absolute(tw.dir() / "protected" / "mascot.png").lexically_normal().string());
        EXPECT_LE(c.details["registry_matches"][0]["pdq_distance"].get<int>(), 31);
        EXPECT_TRUE(c.quarantined);
      } else {
        EXPECT_EQ(c.verdict, "pass") << c.details.dump();
        EXPECT_FALSE(c.quarantined);
      }
    } else if (c.check_kind == "terms") {
      EXPECT_EQ(c.verdict, "warn");
      EXPECT_EQ(c.details["hits"][0]["term"], "apple");
      EXPECT_EQ(c.details["hits"][0]["field"], "prompt");
      ++terms_warn;
    } else if (c.check_kind == "licence") {
      // The tiny model has no model card beside it: its training data is undeclared.
      EXPECT_EQ(c.verdict, "warn");
      ++licence_rows;
    }
    if (c.quarantined) quarantined.insert(*c.sha256);
  }
  EXPECT_EQ(copyright_rows, 4);
  EXPECT_EQ(terms_warn, 4);
  EXPECT_EQ(licence_rows, 4);
  ASSERT_EQ(quarantined.size(), 1u);
  EXPECT_EQ(*quarantined.begin(), copy_sha);
  // The quarantined image has the pixels that were copied.
  const media::Image q = media::read_png(
      AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir()).path_for(copy_sha, "png"), 3);
  EXPECT_EQ(q.pixels, copied.pixels);

  // The next stage got the three others, not the copy.
  int publish_jobs = 0;
  for (const JobRow& j : store->list_jobs({.run_id = 2})) {
    if (j.stage != "publish" || j.kind != "sleep") continue;
    ++publish_jobs;
    EXPECT_EQ(j.state, "succeeded");
    for (const InputRef& in : store->job_inputs(j.id)) EXPECT_NE(in.sha256, copy_sha);
  }
  EXPECT_EQ(publish_jobs, 3);

  // The run lists what was quarantined and why.
  r = run_atelier({"-w", w, "--json", "status", "r2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json status = parse_out(r);
  ASSERT_EQ(status["quarantined"].size(), 1u);
  EXPECT_EQ(status["quarantined"][0]["sha256"], copy_sha);
  EXPECT_EQ(status["quarantined"][0]["checks"][0]["label"], "ACME protected mascots");
  EXPECT_EQ(status["checks"]["copyright"]["fail"], 1);
  EXPECT_EQ(status["checks"]["copyright"]["pass"], 3);

  // Export: the run's images under names from their variables, each with a signed
  // manifest carrying its verdicts; the quarantined one only when asked.
  const fs::path out_dir = tw.dir() / "deliver";
  r = run_atelier(
      {"-w", w, "--json", "export", "r2", out_dir.string(), "--name", "{stage}_{seed}"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json exported = parse_out(r);
  EXPECT_EQ(exported["files"].size(), 3u) << exported.dump(1);
  EXPECT_EQ(exported["left_out"].size(), 1u);
  EXPECT_EQ(exported["left_out"][0]["sha256"], copy_sha);
  std::set<std::string> names;
  for (const json& f : exported["files"]) {
    names.insert(f["file"].get<std::string>());
    std::ifstream in(out_dir / f["manifest"].get<std::string>());
    const json m = json::parse(in);
    EXPECT_EQ(provenance::check_manifest_signature(m).status, provenance::SignatureCheck::valid);
    EXPECT_EQ(m["sha256"], f["sha256"]);
    EXPECT_EQ(m["checks"][0]["check"], "copyright");
    EXPECT_EQ(sha256_file(out_dir / f["file"].get<std::string>()), f["sha256"]);
  }
  for (const char* n : {"gen_21.png", "gen_23.png", "gen_24.png"}) EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("gen_22.png")) << "the second image (seed 22) was the copy";
  r = run_atelier({"-w", w, "--json", "export", "r2", (tw.dir() / "all").string(), "--name",
                   "{stage}_{seed}", "--include-quarantined"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(parse_out(r)["files"].size(), 4u);
  EXPECT_TRUE(fs::exists(tw.dir() / "all" / "gen_22.png"));
  r = run_atelier({"-w", w, "export", "r2", (tw.dir() / "x").string(), "--name", "{product}"});
  EXPECT_EQ(r.exit_code, 2) << "no deliverable has a product variable";

  // The run report lists the quarantined copy with its check and label.
  const fs::path page = tw.dir() / "r2.html";
  r = run_atelier({"-w", w, "report", "r2", "--out", page.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string html = read_file_text(page);
  const auto at = html.find("<h2>Quarantined assets (1)</h2>");
  ASSERT_NE(at, std::string::npos) << "the report has a quarantine section";
  const std::string section = html.substr(at, html.find("</table>", at) - at);
  EXPECT_NE(section.find(copy_sha.substr(0, 8)), std::string::npos);
  EXPECT_NE(section.find("copyright: fail"), std::string::npos) << section;
  EXPECT_NE(section.find("ACME protected mascots"), std::string::npos) << section;

  // Ad hoc: the copied file and the registry work itself both fail; a clean one passes.
  r = run_atelier({"-w", w, "--json", "check", (tw.dir() / "protected" / "mascot.png").string(),
                   asset_file(tw, made[0]).string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json adhoc = parse_out(r);
  EXPECT_EQ(adhoc["files"][0]["verdict"], "fail");
  EXPECT_EQ(adhoc["files"][1]["verdict"], "pass") << adhoc.dump(1);
}

TEST(Checks, BadInputGetsAClearVerdictAndNothingElseIsLost) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  // Not an image at all, behind a PNG name.
  auto corrupt = tw.write_file("corrupt.png", "\x89PNG\r\n\x1a\nthis is not a PNG stream");
  media::write_png(tw.dir() / "dot.png", media::Image{1, 1, 3, {200, 30, 30}});
  // A valid PNG header claiming 30,000 x 30,000 pixels, then a token of pixel data.
  {
    const std::string ihdr{0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0};
    std::ofstream(tw.dir() / "huge.png", std::ios::binary)
        << std::string("\x89PNG\r\n\x1a\n", 8) << png_chunk("IHDR", ihdr)
        << png_chunk("IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8))
        << png_chunk("IEND", "");
  }
  // The same claim in a JPEG's frame header (SOF0), which OpenCV would honour.
  {
    const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xC0, 0,    17, 8, 0x75, 0x30, 0x75, 0x30, 3,
                                  1,    0x22, 0,    2,    0x11, 1,  3, 0x11, 1,    0xFF, 0xD9};
    std::ofstream(tw.dir() / "huge.jpg", std::ios::binary)
        .write(reinterpret_cast<const char*>(jpeg), sizeof jpeg);
  }
  media::write_png(tw.dir() / "fine.png", rings(48, 3));
  ProcResult r = run_atelier({"-w", w, "--json", "check", "--bias", corrupt.string(),
                              (tw.dir() / "dot.png").string(), (tw.dir() / "huge.png").string(),
                              (tw.dir() / "fine.png").string(), (tw.dir() / "huge.jpg").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json out = parse_out(r);
  ASSERT_EQ(out["files"].size(), 5u) << out.dump(1);
  const json& c4 = out["files"][4]["checks"][0];
  EXPECT_EQ(c4["verdict"], "fail");
  EXPECT_NE(c4["details"]["error"].get<std::string>().find("refused before decoding"),
            std::string::npos)
      << c4.dump();
  const json& c0 = out["files"][0]["checks"][0];
  EXPECT_EQ(c0["verdict"], "fail");
  EXPECT_NE(c0["details"]["error"].get<std::string>().find("corrupt.png"), std::string::npos);
  const json& c1 = out["files"][1]["checks"][0];
  EXPECT_EQ(c1["verdict"], "warn");
  EXPECT_TRUE(c1["details"]["unhashable"].get<bool>());
  EXPECT_NE(c1["details"]["reason"].get<std::string>().find("unhashable"), std::string::npos);
  const json& c2 = out["files"][2]["checks"][0];
  EXPECT_EQ(c2["verdict"], "fail");
  EXPECT_NE(c2["details"]["error"].get<std::string>().find("30000"), std::string::npos)
      << c2.dump();
  EXPECT_EQ(out["files"][3]["verdict"], "pass");
  // No person in any of them: the audit says so instead of passing.
  EXPECT_NE(out["bias"]["verdict"], "pass") << out["bias"].dump(1);

  // A missing file is a usage error; the registry must exist to be used.
  r = run_atelier({"-w", w, "check", (tw.dir() / "nope.png").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.png"), std::string::npos);
  r = run_atelier({"-w", w, "registry", "add", (tw.dir() / "empty").string(), "--label", "x"});
  EXPECT_EQ(r.exit_code, 2);

  // An empty batch in a pipeline: the check job succeeds and its bias report says
  // there was nothing to audit.
  auto spec = tw.write_file("empty.yaml", R"(version: 1
name: empty
stages:
  - id: words
    kind: sleep
    with: {ms: 1}
  - id: audit
    kind: check
    needs: [words]
    with: {bias: true, copyright: {registry: false, training: off}}
)");
  r = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=1,check=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  auto rows = store->run_checks(1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].check_kind, "bias");
  EXPECT_FALSE(rows[0].sha256);
  EXPECT_NE(rows[0].verdict, "pass") << rows[0].details.dump(1);
}

TEST(Checks, AnImageCloseToALoraTrainingImageWarnsAsMemorised) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  write_tiny_captioner(tw.dir() / "models", "tinycap");
  const std::string w = tw.dir().string();
  auto first = tw.write_file("first.yaml", R"(version: 1
name: first
stages:
  - id: gen
    kind: generate
    with: {prompt: "red apple", model: tiny, steps: 2, seed: 3, size: 32}
)");
  ProcResult r = run_atelier({"-w", w, "run", first.string(), "--workers", "generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  const AssetRow drawn = store->list_assets(1).at(0);
  // The brand folder holds a copy of that drawing among others: a LoRA trained on
  // it can reproduce it, which is what the memorisation check looks for.
  fs::create_directories(tw.dir() / "brand");
  media::write_png(tw.dir() / "brand" / "copied.png",
                   near_copy(media::read_png(asset_file(tw, drawn), 3)));
  media::write_png(tw.dir() / "brand" / "rings1.png", rings(32, 1));
  media::write_png(tw.dir() / "brand" / "rings2.png", rings(32, 2));
  // The LoRA barely moves the model (one step at a tiny rate), so with it the
  // same request draws nearly the same image.
  auto second = tw.write_file("second.yaml", R"(version: 1
name: second
stages:
  - id: cap
    kind: caption
    with: {images: {path: brand/, licence: CC0-1.0}, trigger: acme, captioner: tinycap}
  - id: lora
    kind: train_lora
    needs: cap
    with: {images: {path: brand/, licence: CC0-1.0}, model: tiny, name: acme-style,
           trigger: acme, rank: 2, alpha: 1, steps: 1, lr: 0.000001, batch: 2, seed: 1}
  - id: styled
    kind: generate
    needs: lora
    with: {prompt: "red apple", model: tiny, steps: 2, seed: 3, size: 32,
           loras: [{model: "${lora.model}", scale: 1}]}
  - id: vet
    kind: check
    needs: styled
    with: {copyright: {registry: false}, licence: fail, gate: warn}
)");
  r = run_atelier(
      {"-w", w, "run", second.string(), "--workers", "caption=1,train_lora=1,generate=1,check=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = store->run_checks(2);
  ASSERT_EQ(rows.size(), 2u);
  const CheckRow& copyright = rows[0].check_kind == "copyright" ? rows[0] : rows[1];
  const CheckRow& licence = rows[0].check_kind == "licence" ? rows[0] : rows[1];
  EXPECT_EQ(copyright.verdict, "warn") << copyright.details.dump(1);
  ASSERT_TRUE(copyright.details.contains("memorised")) << copyright.details.dump(1);
  const json& hit = copyright.details["memorised"][0];
  EXPECT_NE(hit["model"].get<std::string>().find("acme-style"), std::string::npos);
  EXPECT_NE(hit["source"].get<std::string>().find("copied.png"), std::string::npos);
  EXPECT_LE(hit["pdq_distance"].get<int>(), 31);
  // The LoRA's three images were compared; the tiny base model records none.
  bool lora_compared = false;
  for (const json& s : copyright.details["training_sets"])
    lora_compared |=
        s["model"].get<std::string>().find("acme-style") != std::string::npos && s["images"] == 3;
  EXPECT_TRUE(lora_compared) << copyright.details.dump(1);
  EXPECT_EQ(copyright.details["training_not_checked"][0]["model"].get<std::string>().substr(0, 4),
            "tiny");
  // Licence: the brand images declare CC0-1.0; the tiny model has no model card.
  EXPECT_EQ(licence.verdict, "fail");
  EXPECT_NE(licence.details["licensed"].dump().find("CC0-1.0"), std::string::npos);
  EXPECT_NE(licence.details["unlicensed"].dump().find("model tiny"), std::string::npos);
  EXPECT_FALSE(licence.quarantined) << "gate: warn only records";
  EXPECT_EQ(store->stage_jobs(2, "vet").at(0).outputs.size(), 1u);
}

TEST(Checks, AJobWhoseInputsWereAllQuarantinedIsSkippedAndItsDependentsGoOn) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  const std::string w = tw.dir().string();
  const std::string gen = R"(version: 1
name: one
stages:
  - id: gen
    kind: generate
    with: {prompt: "red apple", model: tiny, count: 1, seed: 8, steps: 2, size: 32}
)";
  auto first = tw.write_file("first.yaml", gen);
  ProcResult r = run_atelier({"-w", w, "run", first.string(), "--workers", "generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  fs::create_directories(tw.dir() / "protected");
  media::write_png(tw.dir() / "protected" / "copy.png",
                   near_copy(media::read_png(asset_file(tw, store->list_assets(1).at(0)), 3)));
  r = run_atelier(
      {"-w", w, "registry", "add", (tw.dir() / "protected").string(), "--label", "Stock library"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto second = tw.write_file("second.yaml", gen + R"(
  - id: vet
    kind: check
    needs: gen
    with: {copyright: true, gate: fail}
  - id: post
    kind: sleep
    needs: vet
    with: {ms: 1, output: true}
  - id: wrapup
    kind: sleep
    needs: post
    with: {ms: 1}
)");
  r = run_atelier({"-w", w, "run", second.string(), "--workers", "generate=1,check=1,sleep=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(store->get_run(2)->state, "succeeded");
  std::map<std::string, JobRow> job;
  for (const JobRow& j : store->list_jobs({.run_id = 2})) job[j.stage] = j;
  EXPECT_EQ(job["vet"].state, "succeeded");
  EXPECT_EQ(job["post"].state, "skipped");
  EXPECT_NE(job["post"].error.value_or("").find("quarantined all 1"), std::string::npos)
      << job["post"].error.value_or("");
  EXPECT_TRUE(store->stage_jobs(2, "post").at(0).outputs.empty());
  // What waited for the skipped job still ran.
  EXPECT_EQ(job["wrapup"].state, "succeeded");
}

// What validate accepts the kind accepts: `images` on a check stage names the
// files to check (it was validated, then refused by the job).
TEST(Checks, AnImagesParamOnACheckStageChecksThoseFiles) {
  TempWorkspace tw(fast_config());
  std::filesystem::create_directories(tw.dir() / "imgs");
  media::write_png(tw.dir() / "imgs" / "one.png", rings(48, 3));
  auto spec = tw.write_file("images.yaml", R"(version: 1
name: images
stages:
  - id: vet
    kind: check
    with: {images: imgs/, terms: [forbidden]}
)");
  const ProcResult v = run_atelier({"-w", tw.dir().string(), "validate", spec.string()});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  const ProcResult r =
      run_atelier({"-w", tw.dir().string(), "run", spec.string(), "--workers", "check=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  const auto jobs = store->list_jobs({.run_id = 1});
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, "succeeded") << jobs[0].error.value_or("");
  EXPECT_FALSE(store->run_checks(1).empty());
}

