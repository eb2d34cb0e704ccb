// The hash-chained audit log and API tokens on a real SQLite workspace: the
// chain holds across connections and processes, and an edited, deleted or
// relinked entry is found; tokens are stored hashed, found by their secret
// only while unrevoked, and malformed secrets never match.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>

#include "common/errors.h"
#include "orchestrator/audit_chain.h"
#include "orchestrator/tokens.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

std::vector<ChainBreak> verify(Store& store, AuditChainWalker& walk) {
  std::vector<ChainBreak> all;
  for (;;) {
    auto page = store.events_after(walk.last_id(), 7);  // small pages: the walk spans them
    if (page.empty()) break;
    for (auto& b : walk.add(page)) all.push_back(b);
  }
  return all;
}

std::vector<ChainBreak> verify(Store& store) {
  AuditChainWalker walk;
  return verify(store, walk);
}

}  // namespace

struct AuditChainTest : StoreTest {};

TEST_P(AuditChainTest, EntriesFromTwoProcessesFormOneIntactChain) {
  TempWorkspace tw{"", GetParam()};  // init wrote the first entry
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        auto store = tw.store();
        for (int i = 0; i < 100; ++i)
          store->audit("proc" + std::to_string(k), "test", "t" + std::to_string(i), {{"i", i}});
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = tw.store();
  AuditChainWalker walk;
  EXPECT_TRUE(verify(*store, walk).empty());
  const auto all = store->events_after(0, 1000);
  EXPECT_EQ(walk.entries(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(
      std::count_if(all.begin(), all.end(), [](const EventRow& e) { return e.action == "test"; }),
      200);
  EXPECT_EQ(walk.head_hash(), *store->recent_events(1).at(0).hash);
}

TEST(AuditChainSqlite, AnEditedDeletedOrRelinkedEntryIsFound) {
  TempWorkspace tw;
  auto store = tw.store();
  for (int i = 0; i < 10; ++i) store->audit("alice", "cancel", "r" + std::to_string(i), {{"i", i}});
  ASSERT_TRUE(verify(*store).empty());
  const int64_t first = store->events_after(0, 1).at(0).id;
  SQLite::Database db((tw.dir() / "atelier.db").string(), SQLite::OPEN_READWRITE);

  // An edited field.
  db.exec("UPDATE events SET actor = 'mallory' WHERE id = " + std::to_string(first + 3));
  auto breaks = verify(*store);
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(breaks[0].id, first + 3);
  EXPECT_NE(breaks[0].why.find("edited"), std::string::npos);
  db.exec("UPDATE events SET actor = 'alice' WHERE id = " + std::to_string(first + 3));
  ASSERT_TRUE(verify(*store).empty());

  // An entry deleted from the middle.
  db.exec("DELETE FROM events WHERE id = " + std::to_string(first + 5));
  breaks = verify(*store);
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(breaks[0].id, first + 6);
  EXPECT_NE(breaks[0].why.find("deleted"), std::string::npos);

  // An edit that also recomputes its own hash breaks the next link instead.
  auto e = store->events_after(first + 1, 1).at(0);
  const std::string forged =
      audit_entry_hash(*e.prev_hash, e.id, e.at, "mallory", e.action, e.target, e.details_text);
  db.exec("UPDATE events SET actor = 'mallory', hash = '" + forged +
          "' WHERE id = " + std::to_string(e.id));
  breaks = verify(*store);
  ASSERT_GE(breaks.size(), 2u);
  EXPECT_EQ(breaks[0].id, e.id + 1);
  EXPECT_NE(breaks[0].why.find("link"), std::string::npos);
}

TEST(AuditChainSqlite, EntriesWrittenBeforeTheChainAreChainedByTheMigration) {
  TempWorkspace tw;
  {
    auto store = tw.store();
    store->audit("alice", "submit", "r1", json::object());
  }
  // Make the database look as it did before migration 0005, with two entries.
  {
    SQLite::Database db((tw.dir() / "atelier.db").string(), SQLite::OPEN_READWRITE);
    db.exec(
        "DROP TABLE disk_full; DROP TABLE asset_imports; ALTER TABLE runs DROP COLUMN confined; "
        "ALTER TABLE schedules DROP COLUMN confined; "
        "DROP TABLE sessions; DROP TABLE notifications; DROP INDEX jobs_state_id; "
        "DROP INDEX jobs_kind_id; "
        "DROP INDEX jobs_finished; DROP TABLE schedule_fires; DROP TABLE tokens;"
        "ALTER TABLE schedules DROP COLUMN created_at; ALTER TABLE schedules DROP COLUMN "
        "created_by; ALTER TABLE events DROP COLUMN prev_hash; ALTER TABLE events DROP "
        "COLUMN hash; PRAGMA user_version = 4");
    db.exec(
        "INSERT INTO events (at, actor, action, target, details) "
        "VALUES (1, 'old', 'submit', 'r0', '{\"spec\": \"a.yaml\"}')");
  }
  auto store = tw.store();  // migrates forward
  const auto all = store->events_after(0, 100);
  ASSERT_GE(all.size(), 2u);
  for (const EventRow& ev : all) EXPECT_TRUE(ev.hash.has_value());
  EXPECT_EQ(*all[0].prev_hash, "");
  store->audit("bob", "retry", "r1", json::object());
  EXPECT_TRUE(verify(*store).empty());
}

struct TokensTest : StoreTest {};

TEST_P(TokensTest, AreStoredHashedAndFoundOnlyWhileUnrevoked) {
  TempWorkspace tw{"", GetParam()};
  auto store = tw.store();
  const NewToken admin = create_token(*store, "admin", "ci", "alice");
  const NewToken viewer = create_token(*store, "viewer", "", "alice");
  EXPECT_EQ(admin.secret.size(), 47u);
  EXPECT_EQ(admin.secret.rfind("atl_", 0), 0u);
  EXPECT_NE(admin.secret, viewer.secret);
  for (const TokenRow& t : store->list_tokens()) {
    EXPECT_NE(t.secret_hash, admin.secret);
    EXPECT_EQ(t.secret_hash.size(), 64u);
  }
  auto found = authenticate_token(*store, admin.secret);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->role, "admin");
  EXPECT_EQ(found->name, "ci");
  EXPECT_TRUE(found->last_used_at.has_value());
  EXPECT_EQ(authenticate_token(*store, viewer.secret)->name, "viewer");
  EXPECT_TRUE(role_allows("admin", "admin"));
  EXPECT_TRUE(role_allows("admin", "viewer"));
  EXPECT_FALSE(role_allows("viewer", "admin"));

  std::string wrong = admin.secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(authenticate_token(*store, wrong));
  for (const std::string& junk :
       {std::string(""), std::string("atl_"), admin.secret + "x",
        std::string("Bearer ") + admin.secret,
        std::string("atl_' OR 1=1 --") + std::string(28, 'a'), found->secret_hash})
    EXPECT_FALSE(authenticate_token(*store, junk)) << junk;

  EXPECT_TRUE(store->revoke_token(admin.row.id));
  EXPECT_FALSE(store->revoke_token(admin.row.id));
  EXPECT_FALSE(authenticate_token(*store, admin.secret));
  EXPECT_TRUE(authenticate_token(*store, viewer.secret));
  EXPECT_THROW(create_token(*store, "root", "", "alice"), InputError);
}

INSTANTIATE_STORE_SUITE(AuditChainTest);

INSTANTIATE_STORE_SUITE(TokensTest);
