// FileScope on real folders and links: what a local spec and a spec submitted
// over the API may read and write (the workspace's keys/ and database never;
// outside the workspace only under import_roots / export_roots when confined),
// judged after symlinks are resolved.
#include "orchestrator/file_scope.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/errors.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

// A workspace with a key file, and a folder beside it (outside) with a file.
struct Layout {
  TempWorkspace tw;
  fs::path outside;
  Layout() : outside(tw.dir().string() + "-outside") {
    fs::create_directories(tw.dir() / "keys");
    std::ofstream(tw.dir() / "keys" / "workspace.ed25519") << "secret";
    fs::create_directories(outside / "brand");
    std::ofstream(outside / "brand" / "logo.png") << "png";
  }
  ~Layout() { fs::remove_all(outside); }
  WorkspaceConfig config(bool roots) {
    WorkspaceConfig c = tw.ws().config();
    if (roots) {
      c.import_roots = {(outside / "brand").string()};
      c.export_roots = {(outside / "exports").string()};
    }
    return c;
  }
};

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FileScope, NoSpecTouchesTheKeysOrTheDatabaseEvenFromTheLocalCli) {
  Layout l;
  for (const bool confined : {false, true}) {
    const FileScope scope(l.config(false), confined);
    EXPECT_NE(refusal([&] {
                scope.check_read(l.tw.dir() / "keys/workspace.ed25519", "images");
              }).find("signing key folder"),
              std::string::npos);
    EXPECT_NE(refusal([&] {
                scope.check_read(l.tw.dir() / "specs/../keys/x", "images");
              }).find("signing key folder"),
              std::string::npos);
    EXPECT_NE(refusal([&] {
                scope.check_write(l.tw.dir() / "keys", "export_dir");
              }).find("signing key folder"),
              std::string::npos);
    for (const char* f : {"atelier.db", "atelier.db-wal", "atelier.db-journal"})
      EXPECT_NE(refusal([&] { scope.check_read(l.tw.dir() / f, "images"); }).find("job database"),
                std::string::npos)
          << f;
  }
}

TEST(FileScope, ALocalSpecReadsAndWritesWhatTheUserCan) {
  Layout l;
  const FileScope scope(l.config(false), false);
  EXPECT_EQ(scope.check_read(l.outside / "brand/logo.png", "images"),
            fs::canonical(l.outside / "brand/logo.png"));
  EXPECT_NO_THROW(scope.check_write("/tmp/elsewhere/exports", "export_dir"));
}

TEST(FileScope, AnApiSpecStaysInTheWorkspaceAndTheConfiguredRoots) {
  Layout l;
  const FileScope bare(l.config(false), true);
  EXPECT_NO_THROW(bare.check_read(l.tw.dir() / "specs/brand.png", "images"));
  EXPECT_NO_THROW(bare.check_write(l.tw.dir() / "exports/new", "export_dir"));
  const std::string why = refusal([&] { bare.check_read("/etc/passwd", "images"); });
  EXPECT_NE(why.find("images: /etc/passwd is outside the folders a spec submitted over the API "
                     "may read (the workspace and import_roots in atelier.yaml)"),
            std::string::npos)
      << why;
  EXPECT_NE(refusal([&] { bare.check_read(l.outside / "brand/logo.png", "images"); }), "");
  EXPECT_NE(
      refusal([&] { bare.check_write(l.outside / "exports", "export_dir"); }).find("export_roots"),
      std::string::npos);

  const FileScope rooted(l.config(true), true);
  EXPECT_NO_THROW(rooted.check_read(l.outside / "brand/logo.png", "images"));
  EXPECT_NO_THROW(rooted.check_write(l.outside / "exports/run1", "export_dir"));
  EXPECT_NE(refusal([&] { rooted.check_write(l.outside / "brand", "export_dir"); }), "")
      << "an import root is not an export root";
  // Compared by component: a sibling whose name starts the same is outside.
  fs::create_directories(l.outside / "brand-private");
  EXPECT_NE(refusal([&] { rooted.check_read(l.outside / "brand-private/x", "images"); }), "");
}

TEST(FileScope, ALinkIsJudgedByWhereItLeads) {
  Layout l;
  fs::create_directories(l.tw.dir() / "brand");
  fs::create_symlink(l.outside / "brand/logo.png", l.tw.dir() / "brand/logo.png");
  fs::create_symlink(l.tw.dir() / "keys", l.tw.dir() / "brand/k");
  fs::create_symlink(l.outside, l.tw.dir() / "out");
  const FileScope scope(l.config(false), true);
  EXPECT_NE(refusal([&] {
              scope.check_read(l.tw.dir() / "brand/logo.png", "images");
            }).find("outside the folders"),
            std::string::npos);
  EXPECT_NE(refusal([&] { scope.check_write(l.tw.dir() / "out/new/dir", "export_dir"); }), "");
  const FileScope local(l.config(false), false);
  EXPECT_NE(refusal([&] {
              local.check_read(l.tw.dir() / "brand/k/workspace.ed25519", "images");
            }).find("signing key folder"),
            std::string::npos);
}

TEST(FileScope, PathWithinComparesWholeComponents) {
  EXPECT_TRUE(path_within("/a/b/c", "/a/b"));
  EXPECT_TRUE(path_within("/a/b", "/a/b"));
  EXPECT_TRUE(path_within("/a/b/c", "/a/b/"));
  EXPECT_FALSE(path_within("/a/bc", "/a/b"));
  EXPECT_FALSE(path_within("/a", "/a/b"));
}
