// ovsdb_lite: durable transactions per second and reopen time, on a schema shaped like the
// switch's (root Open_vSwitch → Bridge → Port → Interface).
//
// Run: build/bin/ovsdb_bench [--dir DIR] [--txns N] [--ports N] [--no-fsync] [--only txn|reopen]
//   --txns N: N single transactions, 4N from 8 threads, N/10 of 100 operations (default 2000,
//   the counts bench/config_vs_ovs.sh gives ovsdb-server); --ports: reopen size (10000).
// One line per result:
//   ovsdb_lite durable-txn MODE threads=T ops_per_txn=O txns=N tx/s=X ops/s=Y fsyncs=F fsync=on dir=D
//   ovsdb_lite reopen log=snapshot|records ports=P interfaces=I rows=R records=K file_bytes=B ms=T
// A "small" transaction is what `vsctl set Port pN tag=K` does: update one port found by name
// and bump Open_vSwitch.next_cfg (2 operations). Batched runs the same from 8 threads at once
// (the log shares fsyncs between them: group commit), and 100 operations per transaction.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ovsdb_lite/database.h"

namespace sluice::ovsdb {
namespace {

using Clock = std::chrono::steady_clock;

Schema bench_schema() {
  return Schema::parse(Json::parse(R"({"name":"Open_vSwitch","version":"1.0.0","tables":{
    "Open_vSwitch":{"isRoot":true,"maxRows":1,"columns":{
      "bridges":{"type":{"key":{"type":"uuid","refTable":"Bridge"},"min":0,"max":"unlimited"}},
      "next_cfg":{"type":"integer"}}},
    "Bridge":{"indexes":[["name"]],"columns":{
      "name":{"type":"string","mutable":false},
      "ports":{"type":{"key":{"type":"uuid","refTable":"Port"},"min":0,"max":"unlimited"}},
      "datapath_type":{"type":"string"},
      "other_config":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}}},
    "Port":{"indexes":[["name"]],"columns":{
      "name":{"type":"string","mutable":false},
      "interfaces":{"type":{"key":{"type":"uuid","refTable":"Interface"},"min":1,"max":"unlimited"}},
      "tag":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":1}},
      "trunks":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":4096}},
      "other_config":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}}},
    "Interface":{"indexes":[["name"]],"columns":{
      "name":{"type":"string","mutable":false},
      "type":{"type":"string"},
      "ofport":{"type":{"key":"integer","min":0,"max":1}},
      "options":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
      "external_ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}}}}})"))
      .value();
}

struct Config {
  std::string dir = "/tmp";
  int txns = 2000;  // single; 8 threads run 4×, 100-operation transactions ÷10 (as config_vs_ovs.sh's ovsdb-server runs)
  int ports = 10000;
  bool fsync = true;
  std::string only;  // "txn" or "reopen": run just that part
};

void die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "ovsdb_bench: %s: %s\n", what.c_str(), st.message().c_str());
  std::exit(1);
}

std::unique_ptr<Database> open_or_die(const std::string& path, bool fsync) {
  Database::Options opts;
  opts.fsync = fsync;
  auto db = Database::open(path, bench_schema(), opts);
  if (!db.is_ok()) die("open " + path, db.status());
  return std::move(db.value());
}

// The database file and the log's lock file beside it.
void remove_db(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".lock");
}

void must(Database& db, const Json& ops) {
  Result<Json> r = db.transact(ops);
  if (!r.is_ok()) die("transact", r.status());
}

std::string name(const char* prefix, long n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%ld", prefix, n);
  return buf;
}

// Adds `count` ports (each with one interface) to bridge `bridge`, `per_txn` ports per
// transaction, creating the root and the bridge first if needed.
void populate(Database& db, const std::string& bridge, long first, long count, long per_txn) {
  if (db.rows("Open_vSwitch").empty()) must(db, Json::parse(R"([{"op":"insert","table":"Open_vSwitch","row":{}}])"));
  if (!db.find("Bridge", "name", bridge))
    must(db, Json::parse(R"([{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":")" + bridge +
                         R"(","datapath_type":"netdev"}},
        {"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]]]}])"));
  for (long done = 0; done < count; done += per_txn) {
    Json ops = Json::array();
    Json new_ports = Json::array();
    for (long i = done; i < std::min(count, done + per_txn); ++i) {
      std::string port = name("port", first + i), pn = name("p", i), in = name("i", i);
      ops.push_back({{"op", "insert"}, {"table", "Interface"}, {"uuid-name", in},
                     {"row", {{"name", port}, {"type", "dpdkvhostuser"},
                              {"options", Json::array({"map", Json::array({Json::array({"vhost-server-path", "/var/run/" + port})})})}}}});
      ops.push_back({{"op", "insert"}, {"table", "Port"}, {"uuid-name", pn},
                     {"row", {{"name", port}, {"interfaces", Json::array({"named-uuid", in})}}}});
      new_ports.push_back(Json::array({"named-uuid", pn}));
    }
    ops.push_back({{"op", "mutate"}, {"table", "Bridge"}, {"where", Json::array({Json::array({"name", "==", bridge})})},
                   {"mutations", Json::array({Json::array({"ports", "insert", Json::array({"set", new_ports})})})}});
    must(db, ops);
  }
}

// `vsctl set Port <port> tag=<tag>`; with `ops` > 2, that many operations: ops - 1 port updates.
Json set_tags(long first_port, int ops, long tag) {
  Json txn = Json::array();
  for (int i = 0; i < ops - 1; ++i)
    txn.push_back({{"op", "update"}, {"table", "Port"},
                   {"where", Json::array({Json::array({"name", "==", name("port", first_port + i)})})},
                   {"row", {{"tag", tag % 4096}}}});
  txn.push_back(Json::parse(R"({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]})"));
  return txn;
}

void durable_txns(const Config& cfg, const char* mode, int threads, int ops_per_txn, int txns) {
  std::string path = cfg.dir + "/ovsdb_bench_txn.db";
  remove_db(path);
  auto db = open_or_die(path, cfg.fsync);
  populate(*db, "br0", 0, 800, 200);
  uint64_t fsyncs_before = db->counters().at("fsyncs");

  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = t; i < txns; i += threads) must(*db, set_tags((i * 7) % 700, ops_per_txn, i));
    });
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t fsyncs = db->counters().at("fsyncs") - fsyncs_before;
  std::printf("ovsdb_lite durable-txn %s threads=%d ops_per_txn=%d txns=%d tx/s=%.0f ops/s=%.0f fsyncs=%llu fsync=%s dir=%s\n",
              mode, threads, ops_per_txn, txns, txns / secs, txns * ops_per_txn / secs,
              static_cast<unsigned long long>(fsyncs), cfg.fsync ? "on" : "off", cfg.dir.c_str());
  std::fflush(stdout);
  db.reset();
  remove_db(path);
}

void reopen(const Config& cfg, bool compacted) {
  std::string path = cfg.dir + "/ovsdb_bench_reopen.db";
  remove_db(path);
  {
    Database::Options opts;
    opts.fsync = false;  // building is not what is measured
    opts.compact_min_bytes = uint64_t{1} << 40;
    auto db = Database::open(path, bench_schema(), opts);
    if (!db.is_ok()) die("open", db.status());
    constexpr long kBridges = 10;
    for (long b = 0; b < kBridges; ++b)
      populate(*db.value(), name("br", b), b * (cfg.ports / kBridges), cfg.ports / kBridges, 100);
    if (compacted) {
      if (Status st = db.value()->compact(); !st.is_ok()) die("compact", st);
    }
  }
  uint64_t bytes = std::filesystem::file_size(path);
  auto start = Clock::now();
  Database::Options opts;
  opts.compact_min_bytes = uint64_t{1} << 40;  // measure the replay, not a compaction after it
  auto db = Database::open(path, bench_schema(), opts);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!db.is_ok()) die("reopen", db.status());
  size_t ports = db.value()->rows("Port").size(), ifaces = db.value()->rows("Interface").size();
  size_t rows = ports + ifaces + db.value()->rows("Bridge").size() + db.value()->rows("Open_vSwitch").size();
  std::printf("ovsdb_lite reopen log=%s ports=%zu interfaces=%zu rows=%zu records=%llu file_bytes=%llu ms=%.1f\n",
              compacted ? "snapshot" : "records", ports, ifaces, rows,
              static_cast<unsigned long long>(db.value()->counters().at("replayed_records")),
              static_cast<unsigned long long>(bytes), ms);
  std::fflush(stdout);
  db.value().reset();
  remove_db(path);
}

}  // namespace
}  // namespace sluice::ovsdb

int main(int argc, char** argv) {
  sluice::ovsdb::Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) cfg.dir = argv[++i];
    else if (a == "--txns" && i + 1 < argc) cfg.txns = std::atoi(argv[++i]);
    else if (a == "--ports" && i + 1 < argc) cfg.ports = std::atoi(argv[++i]);
    else if (a == "--no-fsync") cfg.fsync = false;
    else if (a == "--only" && i + 1 < argc) cfg.only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--txns N] [--ports N] [--no-fsync] [--only txn|reopen]\n", argv[0]);
      return 2;
    }
  }
  std::printf("# cores=%u dir=%s (fdatasync per group commit unless fsync=off)\n",
              std::thread::hardware_concurrency(), cfg.dir.c_str());
  if (cfg.only.empty() || cfg.only == "txn") {
    sluice::ovsdb::durable_txns(cfg, "single", 1, 2, cfg.txns);
    sluice::ovsdb::durable_txns(cfg, "batched", 8, 2, cfg.txns * 4);
    sluice::ovsdb::durable_txns(cfg, "batched", 1, 100, cfg.txns / 10);
    sluice::ovsdb::durable_txns(cfg, "batched", 8, 100, cfg.txns / 10);
  }
  if (cfg.only.empty() || cfg.only == "reopen") {
    sluice::ovsdb::reopen(cfg, true);
    sluice::ovsdb::reopen(cfg, false);
  }
  return 0;
}
