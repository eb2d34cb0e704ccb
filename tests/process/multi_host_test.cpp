// Many hosts on one PostgreSQL job database (DESIGN.md s.9, docs/hosts.md),
// on network namespaces the test makes: `db` runs a PostgreSQL server, `h1`
// and `h2` each run `atelier host` (its own host name, its own worker
// processes), and the test's own namespace submits and checks through a
// fourth link. Workers on both hosts are SIGKILLed and h1's link is cut for a
// while; then a second run is driven by an `atelier run` that is itself killed
// and started again. Every job succeeds once, and no asset is stored twice.
// Needs root (namespaces, the server as the postgres user); skipped otherwise.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

std::string pg_bin() {
  for (const char* v : {"17", "16", "15"}) {
    const std::string d = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (fs::exists(d + "/initdb")) return d;
  }
  return "";
}

void must(const std::vector<std::string>& argv) {
  ProcResult r = run_program(argv);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  if (r.exit_code != 0) throw std::runtime_error(cmd + "failed: " + r.out + r.err);
}

// Three namespaces and four veth links: db<->h1, db<->h2 and db<->this
// namespace (the checker), each its own /24.
class Network {
 public:
  explicit Network(const std::string& tag)
      : db_("atl" + tag + "db"), h1_("atl" + tag + "h1"), h2_("atl" + tag + "h2"), tag_(tag) {
    for (const auto& ns : {db_, h1_, h2_}) {
      must({"ip", "netns", "add", ns});
      must({"ip", "-n", ns, "link", "set", "lo", "up"});
    }
    link(1, h1_);
    link(2, h2_);
    link(3, "");
  }
  ~Network() {
    for (const auto& ns : {db_, h1_, h2_}) run_program({"ip", "netns", "del", ns});
    run_program({"ip", "link", "del", "v3r" + tag_});
  }
  const std::string& db() const { return db_; }
  const std::string& h1() const { return h1_; }
  const std::string& h2() const { return h2_; }
  // Takes host 1's end of its link down or up (its connections see no route).
  void set_h1_link(bool up) {
    must({"ip", "-n", h1_, "link", "set", "v1h" + tag_, up ? "up" : "down"});
  }

 private:
  void link(int n, const std::string& ns) {
    const std::string a = "v" + std::to_string(n) + "d" + tag_;
    const std::string b = "v" + std::to_string(n) + (ns.empty() ? "r" : "h") + tag_;
    const std::string net = "10.77." + std::to_string(n) + ".";
    must({"ip", "link", "add", a, "type", "veth", "peer", "name", b});
    must({"ip", "link", "set", a, "netns", db_});
    must({"ip", "-n", db_, "addr", "add", net + "1/24", "dev", a});
    must({"ip", "-n", db_, "link", "set", a, "up"});
    if (ns.empty()) {
      must({"ip", "addr", "add", net + "2/24", "dev", b});
      must({"ip", "link", "set", b, "up"});
    } else {
      must({"ip", "link", "set", b, "netns", ns});
      must({"ip", "-n", ns, "addr", "add", net + "2/24", "dev", b});
      must({"ip", "-n", ns, "link", "set", b, "up"});
    }
  }
  std::string db_, h1_, h2_, tag_;
};

// PostgreSQL in the db namespace, listening on its three link addresses.
// Short TCP keepalives and user timeout: a host whose link is cut loses its
// sessions (and any leadership lock they hold) within seconds, idle or not, as
// docs/hosts.md recommends.
class Server {
 public:
  Server(const Network& net, const fs::path& dir) : dir_(dir), bin_(pg_bin()) {
    fs::create_directories(dir_);
    must({"chown", "postgres:", dir_.string()});
    must({"runuser", "-u", "postgres", "--", bin_ + "/initdb", "-D", dir_.string(), "-A", "trust",
          "-U", "atelier", "-E", "UTF8", "--locale=C.UTF-8"});
    std::ofstream(dir_ / "pg_hba.conf", std::ios::app) << "host all all 10.77.0.0/16 trust\n";
    must({"ip", "netns", "exec", net.db(), "runuser", "-u", "postgres", "--", bin_ + "/pg_ctl",
          "-D", dir_.string(), "-w", "-l", (dir_ / "server.log").string(), "-o",
          "-p 5432 -k " + dir_.string() +
              " -c listen_addresses=10.77.1.1,10.77.2.1,10.77.3.1 -c max_connections=200"
              " -c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=2"
              " -c tcp_user_timeout=3000",
          "start"});
    must({"psql", "-h", "10.77.3.1", "-U", "atelier", "-d", "postgres", "-qc",
          "CREATE DATABASE atelier"});
  }
  ~Server() {
    run_program({"runuser", "-u", "postgres", "--", bin_ + "/pg_ctl", "-D", dir_.string(), "-m",
                 "immediate", "stop"});
  }
  // The URL as seen from link n (1: h1, 2: h2, 3: this namespace).
  static std::string url(int n) {
    return "postgresql://atelier@10.77." + std::to_string(n) +
           ".1:5432/atelier?connect_timeout=2&keepalives_idle=2&keepalives_interval=1"
           "&keepalives_count=2&tcp_user_timeout=3000";
  }

 private:
  fs::path dir_;
  std::string bin_;
};

std::string spec_text(const std::string& name, int jobs) {
  return "version: 1\nname: " + name +
         "\nstages:\n  - id: make\n    kind: sleep\n    matrix: {i: " + range_list(jobs) +
         "}\n    with: {ms: 30, output: true}\n";
}

// Asset files in the store, not counting writes that never finished (.tmp).
size_t stored_files(const fs::path& assets) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(assets))
    if (e.is_regular_file() && e.path().parent_path().filename() != ".tmp") ++n;
  return n;
}

// Attempt outcomes of a run, and the hosts its successful attempts ran on.
struct AttemptStats {
  std::map<std::string, int> outcomes;
  std::set<std::string> hosts;
};
AttemptStats attempt_stats(Store& store, int64_t run) {
  AttemptStats s;
  for (const AttemptRow& a : store.all_attempts(run)) {
    ++s.outcomes[a.outcome];
    if (a.outcome == "succeeded") s.hosts.insert(a.worker_id.substr(0, a.worker_id.find(':')));
  }
  return s;
}

void expect_every_job_once(Store& store, int64_t run, size_t jobs) {
  ASSERT_EQ(store.get_run(run)->state, "succeeded");
  auto rows = store.list_jobs({.run_id = run, .limit = 100000});
  ASSERT_EQ(rows.size(), jobs);
  auto assets = assets_per_job(store, run);
  std::map<int64_t, int> succeeded;
  for (const AttemptRow& a : store.all_attempts(run)) {
    EXPECT_NE(a.outcome, "running") << "j" << a.job_id << " attempt " << a.attempt;
    if (a.outcome == "succeeded") ++succeeded[a.job_id];
  }
  for (const JobRow& j : rows) {
    EXPECT_EQ(j.state, "succeeded") << "j" << j.id;
    EXPECT_EQ(assets[j.id], 1) << "j" << j.id;
    EXPECT_EQ(succeeded[j.id], 1) << "j" << j.id;
  }
}

}  // namespace

TEST(MultiHost, TwoHostsOnePostgresSurviveKillsACutLinkAndARestartedOrchestrator) {
  if (::getuid() != 0 || pg_bin().empty() || run_program({"ip", "-V"}).exit_code != 0)
    GTEST_SKIP() << "needs root, iproute2 and a PostgreSQL server (scripts/setup.sh installs them)";
  const std::string tag = std::to_string(::getpid() % 100000);
  Network net(tag);
  TempWorkspace tw(fast_config() + "store: \"" + Server::url(3) + "\"\n", sql::Engine::sqlite,
                   /*init=*/false);
  Server server(net, tw.dir() / "pg");
  tw.init();
  const fs::path assets = tw.ws().assets_dir();

  // Each host: a local folder of its own naming the shared store and assets.
  std::vector<BackgroundProc> hosts;
  std::vector<std::string> names;
  for (int h : {1, 2}) {
    const std::string name = "atl-h" + std::to_string(h) + "-" + tag;
    const fs::path dir = tw.dir() / ("host" + std::to_string(h));
    fs::create_directories(dir);
    std::ofstream(dir / "atelier.yaml") << fast_config() << "store: \"" << Server::url(h)
                                        << "\"\nassets: \"" << assets.string() << "\"\n";
    const std::string cmd = "hostname " + name + " && exec " + ATELIER_BIN + " -w " + dir.string() +
                            " host --db '" + Server::url(h) + "' --assets " + assets.string() +
                            " --workers sleep=3";
    hosts.push_back(BackgroundProc::program(
        {"ip", "netns", "exec", h == 1 ? net.h1() : net.h2(), "unshare", "--uts", "sh", "-c", cmd},
        (tw.dir() / ("host" + std::to_string(h) + ".log")).string()));
    names.push_back(name);
  }

  auto store = tw.store();
  std::mt19937 rng(7);
  std::set<std::string> hosts_seen;
  // Kills a worker of host h, preferring one that holds a running job (its
  // lease owner) so the kill lands mid-job and is recorded as a crash; an idle
  // worker between 30 ms jobs dies unseen. False when h has no worker.
  auto kill_a_worker = [&](int h, int64_t run) {
    const auto children = child_pids(hosts[h].pid());
    if (children.empty()) return false;
    std::set<std::string> owners;
    for (const JobRow& j : store->list_jobs({.run_id = run, .state = "running"}))
      if (j.lease_owner) owners.insert(*j.lease_owner);
    std::vector<pid_t> busy;
    for (const WorkerRow& w : store->list_workers())
      if (owners.count(w.id) &&
          std::find(children.begin(), children.end(), w.pid) != children.end())
        busy.push_back(w.pid);
    const auto& pool = busy.empty() ? children : busy;
    ::kill(pool[rng() % pool.size()], SIGKILL);
    return true;
  };
  auto crashes = [&](int64_t run) {
    int n = 0;
    for (const AttemptRow& a : store->all_attempts(run)) n += a.outcome == "crashed";
    return n;
  };
  auto note_hosts = [&] {
    for (const WorkerRow& w : store->list_workers()) hosts_seen.insert(w.host);
  };

  // Run 1: submitted here, worked only by the two hosts.
  const auto spec1 = tw.write_file("mh1.yaml", spec_text("multihost", 500));
  ProcResult sub =
      run_atelier({"-w", tw.dir().string(), "submit", spec1.string(), "--key", "mh-1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  int kills[2] = {0, 0};
  bool cut = false;
  ASSERT_TRUE(wait_until(
      [&] {
        note_hosts();
        const auto counts = store->job_counts(1, false);
        int64_t done = 0;
        for (const auto& c : counts)
          if (c.key == "succeeded") done = c.count;
        if (done >= 100 && !cut) {
          // h1 loses the database for 6 s, longer than the server takes to end
          // its sessions (3-4 s): leadership moves to h2 if h1 held it, and
          // h1's expired leases are taken back and worked elsewhere.
          net.set_h1_link(false);
          std::this_thread::sleep_for(std::chrono::seconds(6));
          net.set_h1_link(true);
          cut = true;
        }
        // At least four kills a host, and more (up to 20) until one is seen
        // to have hit a job before it finished.
        const bool more =
            kills[0] < 4 || kills[1] < 4 || (kills[0] + kills[1] < 40 && crashes(1) == 0);
        for (int h : {0, 1})
          if (more && (kills[h] < 4 || kills[h] <= kills[1 - h]) && rng() % 4 == 0 &&
              kill_a_worker(h, 1))
            ++kills[h];
        return store->get_run(1)->state != "running";
      },
      240'000))
      << "run 1 did not end";
  EXPECT_TRUE(cut);
  EXPECT_GE(kills[0], 4);
  EXPECT_GE(kills[1], 4);
  expect_every_job_once(*store, 1, 500);
  for (const std::string& n : names) EXPECT_TRUE(hosts_seen.count(n)) << n << " never registered";
  AttemptStats s1 = attempt_stats(*store, 1);
  for (const std::string& n : names) EXPECT_TRUE(s1.hosts.count(n)) << n << " ran no job";
  EXPECT_GT(s1.outcomes["crashed"], 0);        // the kills hit running jobs
  EXPECT_GT(s1.outcomes["lease_expired"], 0);  // the cut host's leases were taken back

  // Run 2: driven by an `atelier run` here that is killed half-way and started
  // again with the same key, while both hosts work and lose workers.
  const auto spec2 = tw.write_file("mh2.yaml", spec_text("multihost-2", 500));
  const std::vector<std::string> args{"-w",   tw.dir().string(), "run",    spec2.string(), "--key",
                                      "mh-2", "--workers",       "sleep=2"};
  {
    BackgroundProc run(args, (tw.dir() / "run1.log").string());
    ASSERT_TRUE(wait_until([&] { return store->get_run(2).has_value(); }));
    int more = 0;
    ASSERT_TRUE(wait_until(
        [&] {
          for (int h : {0, 1})
            if (more < 6 && rng() % 8 == 0 && kill_a_worker(h, 2)) ++more;
          int64_t done = 0;
          for (const auto& c : store->job_counts(2, false))
            if (c.key == "succeeded") done = c.count;
          return done >= 150 && more >= 4;
        },
        120'000));
    ASSERT_EQ(store->get_run(2)->state, "running");
    run.signal(SIGKILL);
    run.wait();
  }
  ProcResult again = run_atelier(args);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("taking up r2"), std::string::npos) << again.err;
  expect_every_job_once(*store, 2, 500);
  const AttemptStats s2 = attempt_stats(*store, 2);
  EXPECT_EQ(s2.hosts.size(), 3u);  // both hosts and the `run` here

  EXPECT_EQ(store->asset_shas().size(), 1000u);
  EXPECT_EQ(stored_files(assets), 1000u);  // no file stored twice either
  EXPECT_EQ(store->integrity_check(), "ok");
  for (auto& h : hosts) {
    h.signal(SIGTERM);
    EXPECT_EQ(h.wait(), 0);
  }
}

// `atelier worker --db URL --assets PATH` in a folder that is no workspace yet:
// it becomes this host's own (config naming the shared store, logs), the
// worker registers with the host's name and works the shared queue.
TEST(MultiHost, AWorkerJoinsTheSharedStoreFromAFolderOfItsOwn) {
  PgSchema schema;
  TempWorkspace tw(fast_config() + "store: \"" + schema.url() + "\"\n");
  auto store = tw.store();
  const int64_t run = store->submit_run(simple_run("joined", 5, "sleep")).run_id;
  const fs::path here = tw.dir() / "other-host";
  {
    BackgroundProc worker({"-w", here.string(), "worker", "--kinds", "sleep", "--db", schema.url(),
                           "--assets", tw.ws().assets_dir().string()},
                          (tw.dir() / "worker.log").string());
    ASSERT_TRUE(wait_until([&] { return store->get_run(run)->state != "running"; }))
        << read_file_text(tw.dir() / "worker.log");
    worker.signal(SIGTERM);
    EXPECT_EQ(worker.wait(), 0);
  }
  EXPECT_EQ(store->get_run(run)->state, "succeeded");
  EXPECT_TRUE(fs::exists(here / "atelier.yaml"));
  EXPECT_EQ(Workspace::open(here).config().store, schema.url());
  for (const AttemptRow& a : store->all_attempts(run))
    EXPECT_EQ(a.worker_id.substr(0, a.worker_id.find(':')), host_name()) << a.worker_id;
  // A database nobody initialised is refused by name, not made by a worker.
  PgSchema other;
  ProcResult r =
      run_atelier({"-w", (tw.dir() / "third-host").string(), "worker", "--kinds", "sleep", "--db",
                   other.url(), "--assets", tw.ws().assets_dir().string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("atelier init --db"), std::string::npos) << r.err;
}
