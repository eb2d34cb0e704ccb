// The content-addressed store: path by sha256, idempotent puts, no temp left behind.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "orchestrator/asset_store.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

TEST(AssetStore, StoresByContentOnce) {
  TempWorkspace tw;
  AssetStore s = tw.ws().asset_store();
  StoredFile a = s.put_bytes("hello", "txt");
  // sha256("hello")
  EXPECT_EQ(a.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(a.path, tw.ws().assets_dir() / "2c" / (a.sha256 + ".txt"));
  std::ifstream in(a.path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello");
  StoredFile b = s.put_bytes("hello", "txt");
  EXPECT_EQ(b.path, a.path);
  EXPECT_TRUE(std::filesystem::is_empty(tw.ws().tmp_dir()));
  auto src = tw.write_file("in.bin", "hello");
  EXPECT_EQ(s.put_file(src, "txt").sha256, a.sha256);
  EXPECT_EQ(sha256_file(src), a.sha256);
}
