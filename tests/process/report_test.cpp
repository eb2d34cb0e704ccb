// The run report through real processes: the `report` stage writes its own run's
// page as a text/html asset while the run is running (and says so), `atelier
// report` writes the finished run's page to a file, every spec-supplied string is
// HTML-escaped (a <script> in a param never appears raw), an unknown run exits 2,
// and a generated image appears as an inline data: PNG thumbnail.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "provenance/run_report.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

namespace fs = std::filesystem;

using namespace atelier;
using namespace atelier::test;

namespace {

const char* kSpec = R"(version: 1
name: report-demo
params:
  title: "<script>alert(1)</script>"
stages:
  - id: make_things
    kind: sleep
    matrix: {n: [1, 2]}
    with: {ms: 1, output: true, label: "<script>alert(1)</script> & 'quotes'"}
  - id: summary_page
    kind: report
    needs: [make_things]
)";

}  // namespace

TEST(Report, HtmlEscapeEscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
  EXPECT_EQ(html_escape("plain text, ünïcode"), "plain text, ünïcode");
  EXPECT_EQ(base64_encode("Man"), "TWFu");
  EXPECT_EQ(base64_encode("Ma"), "TWE=");
  EXPECT_EQ(base64_encode("M"), "TQ==");
}

TEST(Report, ReportStageAndCommandWriteAnEscapedSelfContainedPage) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  auto spec = tw.write_file("report.yaml", kSpec);
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=1,report=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  EXPECT_EQ(store->get_run(1)->state, "succeeded");

  // The report stage's own asset.
  std::optional<AssetRow> page;
  for (const AssetRow& a : store->list_assets(1))
    if (a.name == "report.html") page = a;
  ASSERT_TRUE(page) << "the report job stored report.html";
  EXPECT_EQ(page->media_type, "text/html");
  const std::string staged = read_file_text(
      AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir()).path_for(page->sha256, page->ext));
  EXPECT_NE(staged.find("report-demo"), std::string::npos);
  EXPECT_NE(staged.find("make_things"), std::string::npos);
  EXPECT_NE(staged.find("summary_page"), std::string::npos);
  EXPECT_NE(staged.find("Generated while the run was running"), std::string::npos);

  // The command, after the run: to --out, then to the default place.
  const fs::path out = tw.dir() / "mail" / "page.html";
  r = run_atelier({"-w", w, "report", "r1", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(out.string()), std::string::npos) << r.out;
  const std::string html = read_file_text(out);
  for (const char* s : {"report-demo", "make_things", "summary_page", "succeeded"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  EXPECT_EQ(html.find("Generated while the run was"), std::string::npos);
  for (const std::string* h : {&staged, &html}) {
    EXPECT_NE(h->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(h->find("&#39;quotes&#39;"), std::string::npos);
    EXPECT_EQ(h->find("<script"), std::string::npos) << "nothing from the spec appears raw";
    EXPECT_EQ(h->find("http://"), std::string::npos) << "no external URL";
    EXPECT_EQ(h->find("https://"), std::string::npos) << "no external URL";
  }
  r = run_atelier({"-w", w, "report", "r1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(tw.dir() / "reports" / "r1.html")) << r.out;

  r = run_atelier({"-w", w, "report", "r99", "--out", (tw.dir() / "none.html").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_FALSE(fs::exists(tw.dir() / "none.html"));
}

TEST(Report, GeneratedImagesHaveInlineThumbnailsAndLineage) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  const std::string w = tw.dir().string();
  auto spec = tw.write_file("gen.yaml", R"(version: 1
name: gen-report
stages:
  - id: gen
    kind: generate
    with: {prompt: "red apple <b>bold</b>", model: tiny, count: 2, seed: 3, steps: 2, size: 32}
  - id: page
    kind: report
    needs: [gen]
)");
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=1,report=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path out = tw.dir() / "gen.html";
  r = run_atelier({"-w", w, "report", "r1", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string html = read_file_text(out);
  EXPECT_NE(html.find("data:image/png;base64,iVBORw0KGgo"), std::string::npos)
      << "a PNG thumbnail inline, the file's own bytes";
  EXPECT_NE(html.find("Images (2)"), std::string::npos);
  EXPECT_NE(html.find("model <b>tiny</b>"), std::string::npos) << "the model in the lineage";
  EXPECT_NE(html.find("red apple &lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("red apple <b>"), std::string::npos);

  // The same spec again makes the same bytes; the second run still delivers them.
  r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=1,report=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_atelier({"-w", w, "report", "r2", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(read_file_text(out).find("Images (2)"), std::string::npos);
  r = run_atelier({"-w", w, "--json", "export", "r2", (tw.dir() / "again").string(), "--name",
                   "{stage}_{index}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json delivered = parse_out(r);
  EXPECT_EQ(delivered["files"].size(), 2u);

  // One asset's file gone from the store: the other is exported, the missing one
  // named, and the export exits 1.
  const std::string gone = delivered["files"][0]["sha256"];
  const fs::path gone_file = tw.ws().asset_store().path_for(gone, "png");
  ASSERT_TRUE(fs::remove(gone_file)) << gone_file;
  r = run_atelier({"-w", w, "--json", "export", "r2", (tw.dir() / "partial").string(), "--name",
                   "{stage}_{index}"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json partial = parse_out(r);
  EXPECT_EQ(partial["files"].size(), 1u);
  ASSERT_EQ(partial["missing"].size(), 1u);
  EXPECT_EQ(partial["missing"][0]["sha256"], gone);
  EXPECT_NE(r.err.find(gone_file.string()), std::string::npos) << r.err;
}
