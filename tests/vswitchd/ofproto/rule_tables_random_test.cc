// RuleTables against a brute-force model: thousands of random flow mods in random batches
// (every command, strict and not, cookie filters, table 255, check_overlap, the rule limit,
// invalid mods), applied to both; after every batch the result, the error's mod and field,
// the full dumps (ids and counters included) and some lookups must agree.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/vswitchd/ofproto/rule_tables_test_support.h"

namespace sluice::ofp {
namespace {

using namespace tables_test;

constexpr uint32_t kMaxPort = 8;
constexpr uint32_t kMaxRules = 50;

// ---- the model: a plain vector and OpenFlow 1.3 section 6.4 read literally ----

struct ModelRule {
  uint64_t id;
  uint8_t table;
  uint16_t priority;
  Match match;
  Instructions ins;
  uint64_t cookie;
  uint64_t packets;
};

struct ModelFailure {
  size_t index;
  std::string field;
};

bool words_all(const Match& a, const Match& b,
               bool (*pred)(uint64_t ak, uint64_t am, uint64_t bk, uint64_t bm)) {
  for (size_t i = 0; i < MatchKey::kWords; ++i) {
    if (!pred(a.key.words()[i], a.mask.words()[i], b.key.words()[i], b.mask.words()[i])) return false;
  }
  return true;
}
// Non-strict selection: the rule looks at every bit the selector does, and agrees on them.
bool selects_loose(const Match& sel, const Match& rule) {
  return words_all(sel, rule, [](uint64_t sk, uint64_t sm, uint64_t rk, uint64_t rm) {
    return (sm & ~rm) == 0 && ((sk ^ rk) & sm) == 0;
  });
}
bool intersect(const Match& a, const Match& b) {
  return words_all(
      a, b, [](uint64_t ak, uint64_t am, uint64_t bk, uint64_t bm) { return ((ak ^ bk) & am & bm) == 0; });
}
bool key_masked(const Match& m) {
  return words_all(m, m, [](uint64_t k, uint64_t mk, uint64_t, uint64_t) { return (k & ~mk) == 0; });
}

struct Model {
  std::vector<ModelRule> rules;
  uint64_t next_id = 1;

  std::optional<std::string> invalid(const FlowMod& m) const {
    const bool is_delete = m.command == FlowModCommand::kDelete || m.command == FlowModCommand::kDeleteStrict;
    if (m.command == FlowModCommand::kAdd && m.spec.table_id == kAllTables) return "table";
    if (!key_masked(m.spec.match)) return "match";
    if (is_delete) return std::nullopt;
    for (const RuleAction& a : m.spec.instructions.apply) {
      if (a.type == RuleActionType::kOutput && (a.port < 1 || a.port > kMaxPort)) return "actions";
    }
    const auto& g = m.spec.instructions.goto_table;
    if (g && (*g > kMaxTableId || (m.spec.table_id != kAllTables && *g <= m.spec.table_id)))
      return "goto_table";
    return std::nullopt;
  }

  std::vector<size_t> select(const FlowMod& m) const {
    const bool strict =
        m.command == FlowModCommand::kModifyStrict || m.command == FlowModCommand::kDeleteStrict;
    std::vector<size_t> out;
    for (size_t i = 0; i < rules.size(); ++i) {
      const ModelRule& r = rules[i];
      if (m.spec.table_id != kAllTables && r.table != m.spec.table_id) continue;
      if (((r.cookie ^ m.spec.cookie) & m.spec.cookie_mask) != 0) continue;
      const bool hit = strict ? r.match == m.spec.match && r.priority == m.spec.priority
                              : selects_loose(m.spec.match, r.match);
      if (hit) out.push_back(i);
    }
    return out;
  }

  // Field of the failure, or nullopt.
  std::optional<std::string> apply_one(const FlowMod& m, FlowModSummary& sum) {
    const RuleSpec& s = m.spec;
    switch (m.command) {
      case FlowModCommand::kAdd: {
        std::optional<size_t> same;
        for (size_t i = 0; i < rules.size(); ++i) {
          const ModelRule& r = rules[i];
          if (r.table != s.table_id) continue;
          if (s.check_overlap && r.priority == s.priority && intersect(r.match, s.match))
            return "check_overlap";
          if (r.priority == s.priority && r.match == s.match) same = i;
        }
        if (!same && rules.size() >= kMaxRules) return "table";
        if (same) {
          rules.erase(rules.begin() + static_cast<ptrdiff_t>(*same));
          ++sum.replaced;
        }
        rules.push_back({next_id++, s.table_id, s.priority, s.match, s.instructions, s.cookie, 0});
        ++sum.added;
        return std::nullopt;
      }
      case FlowModCommand::kModify:
      case FlowModCommand::kModifyStrict:
        for (size_t i : select(m)) {
          if (s.instructions.goto_table && *s.instructions.goto_table <= rules[i].table) return "goto_table";
          rules[i].ins = s.instructions;
          ++sum.modified;
        }
        return std::nullopt;
      case FlowModCommand::kDelete:
      case FlowModCommand::kDeleteStrict: {
        std::vector<size_t> doomed = select(m);
        for (auto it = doomed.rbegin(); it != doomed.rend(); ++it)
          rules.erase(rules.begin() + static_cast<ptrdiff_t>(*it));
        sum.deleted += doomed.size();
        return std::nullopt;
      }
    }
    return "command";
  }

  std::optional<ModelFailure> apply(const std::vector<FlowMod>& mods, FlowModSummary& sum) {
    for (size_t i = 0; i < mods.size(); ++i) {
      if (auto field = invalid(mods[i])) return ModelFailure{i, *field};
    }
    const Model saved = *this;
    for (size_t i = 0; i < mods.size(); ++i) {
      if (auto field = apply_one(mods[i], sum)) {
        *this = saved;
        return ModelFailure{i, *field};
      }
    }
    return std::nullopt;
  }

  // Highest priority covering the packet, ties to the more specific match, then the lowest id.
  std::optional<uint64_t> lookup(uint8_t table, const MatchKey& packet) const {
    const ModelRule* best = nullptr;
    for (const ModelRule& r : rules) {
      if (r.table != table || !match_covers(r.match, packet)) continue;
      if (!best || r.priority > best->priority ||
          (r.priority == best->priority &&
           (match_bits(r.match) > match_bits(best->match) ||
            (match_bits(r.match) == match_bits(best->match) && r.id < best->id))))
        best = &r;
    }
    return best ? std::optional<uint64_t>(best->id) : std::nullopt;
  }

  std::vector<std::string> dump() const {
    std::vector<const ModelRule*> sorted;
    for (const ModelRule& r : rules) sorted.push_back(&r);
    std::sort(sorted.begin(), sorted.end(), [](const ModelRule* a, const ModelRule* b) {
      if (a->table != b->table) return a->table < b->table;
      if (a->priority != b->priority) return a->priority > b->priority;
      return a->id < b->id;
    });
    std::vector<std::string> out;
    for (const ModelRule* r : sorted) {
      out.push_back(line(r->table, r->priority, r->id, r->cookie, r->match, r->ins, r->packets));
    }
    return out;
  }

  static std::string line(uint8_t table, uint16_t priority, uint64_t id, uint64_t cookie, const Match& match,
                          const Instructions& ins, uint64_t packets) {
    return "table=" + std::to_string(table) + " priority=" + std::to_string(priority) +
           " id=" + std::to_string(id) + " cookie=" + std::to_string(cookie) +
           " match=" + format_rule_match(match) + " actions=" + format_instructions(ins) +
           " packets=" + std::to_string(packets);
  }
};

std::vector<std::string> real_dump(const RuleTables& t) {
  std::vector<std::string> out;
  t.for_each(kAllTables, [&](const Rule& r) {
    out.push_back(
        Model::line(r.table_id, r.priority, r.id, r.cookie, r.match, r.instructions, r.packets.load()));
  });
  return out;
}

// ---- random flow mods over a small space, so that they collide often ----

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  uint32_t below(uint32_t n) { return rng_() % n; }
  bool chance(uint32_t percent) { return below(100) < percent; }

  std::string match_text() {
    static const char* kProtos[] = {"", "ip", "ip", "tcp", "arp"};
    static const char* kDsts[] = {"", "10.0.0.0/8", "10.1.0.0/16", "10.1.1.0/24", "10.1.1.1", "10.2.0.0/16"};
    std::string out;
    auto put = [&](const std::string& s) {
      if (s.empty()) return;
      if (!out.empty()) out += ',';
      out += s;
    };
    const std::string proto = kProtos[below(5)];
    put(proto);
    if (below(3)) put(std::string(below(2) ? "in_port=1" : "in_port=2"));
    if (proto == "ip" || proto == "tcp") {
      const std::string dst = kDsts[below(6)];
      if (!dst.empty()) put("nw_dst=" + dst);
    }
    if (proto == "tcp" && below(2)) put(below(2) ? "tp_dst=80" : "tp_dst=81");
    return out;
  }

  std::string actions_text(unsigned table) {
    const bool jump = table < 3 && chance(20);
    std::string out = chance(15) ? (jump ? "" : "drop") : "output:" + std::to_string(1 + below(4));
    if (jump)
      out +=
          std::string(out.empty() ? "" : ",") + "goto_table:" + std::to_string(table + 1 + below(3 - table));
    return out;
  }

  FlowMod next() {
    static const FlowModCommand kCommands[] = {
        FlowModCommand::kAdd,    FlowModCommand::kAdd,          FlowModCommand::kAdd,
        FlowModCommand::kAdd,    FlowModCommand::kModify,       FlowModCommand::kModifyStrict,
        FlowModCommand::kDelete, FlowModCommand::kDeleteStrict,
    };
    const FlowModCommand command = kCommands[below(8)];
    const unsigned table = below(3);
    std::string text = "table=" + std::to_string(table) + ",priority=" + std::to_string(1 + below(3));
    if (command == FlowModCommand::kAdd) {
      text += ",cookie=" + std::to_string(below(4));
      if (chance(10)) text += ",check_overlap";
    } else if (chance(50)) {
      static const char* kMasks[] = {"0x1", "0x2", "0x3", "0xffffffffffffffff"};
      text += ",cookie=" + std::to_string(below(4)) + "/" + kMasks[below(4)];
    }
    const std::string match = match_text();
    if (!match.empty()) text += "," + match;
    const bool deletes = command == FlowModCommand::kDelete || command == FlowModCommand::kDeleteStrict;
    if (!deletes) text += ",actions=" + actions_text(table);
    FlowMod m = mod(command, text);

    if (command != FlowModCommand::kAdd && chance(12)) {
      m.spec.table_id = kAllTables;
      if (command == FlowModCommand::kModify && chance(30))
        m.spec.instructions.goto_table = 2;  // fails on table 2
    }
    if (!deletes && chance(3)) {  // an invalid output port
      RuleAction a;
      a.port = chance(50) ? 0 : kMaxPort + 1;
      m.spec.instructions.apply.push_back(a);
    }
    if (command == FlowModCommand::kAdd && chance(1)) m.spec.instructions.goto_table = m.spec.table_id;
    if (chance(1)) m.spec.match.key.flow.tp_src = 7;  // never masked: a key outside its mask
    return m;
  }

  MatchKey packet() {
    static const char* kDsts[] = {"10.1.1.1", "10.1.2.3", "10.2.0.5", "11.0.0.1"};
    MatchKey p{};
    p.flow.in_port = 1 + below(3);
    p.flow.dl_type = htons(chance(80) ? 0x0800 : 0x0806);
    p.flow.set_ipv4_dst(inet_addr(kDsts[below(4)]));
    p.flow.nw_proto = chance(50) ? 6 : 17;
    p.flow.tp_dst = htons(chance(50) ? 80 : 81);
    return p;
  }

 private:
  std::mt19937 rng_;
};

TEST(RuleTablesRandom, AgreesWithABruteForceModel) {
  Generator gen(12345);
  RuleTables t(RuleTables::Config{.max_rules = kMaxRules, .max_port = kMaxPort});
  Model model;
  std::map<std::string, int> failures;  // by field
  int ok_batches = 0;
  size_t mods_applied = 0;
  uint64_t now = 0;

  for (int batch_no = 0; batch_no < 3000; ++batch_no) {
    std::vector<FlowMod> batch;
    for (uint32_t i = 0, n = 1 + gen.below(6); i < n; ++i) batch.push_back(gen.next());
    FlowModSummary want;
    const auto failure = model.apply(batch, want);
    const uint64_t version = t.version();
    // Every other batch through apply_taking: it must land exactly what apply() lands.
    auto got = batch_no % 2 ? t.apply_taking(batch, ++now) : t.apply(batch, ++now);

    ASSERT_EQ(got.is_ok(), !failure.has_value())
        << "batch " << batch_no << ": " << (got.is_ok() ? "applied" : got.status().message());
    if (failure) {
      const std::string prefix =
          "flow_mod " + std::to_string(failure->index + 1) + ": " + failure->field + ":";
      ASSERT_EQ(got.status().message().substr(0, prefix.size()), prefix) << "batch " << batch_no;
      ASSERT_EQ(t.version(), version);
      ++failures[failure->field];
    } else {
      ASSERT_EQ(got->added, want.added) << "batch " << batch_no;
      ASSERT_EQ(got->replaced, want.replaced);
      ASSERT_EQ(got->modified, want.modified);
      ASSERT_EQ(got->deleted, want.deleted);
      ++ok_batches;
      mods_applied += batch.size();
    }
    ASSERT_EQ(real_dump(t), model.dump()) << "batch " << batch_no;
    ASSERT_EQ(t.size(), model.rules.size());

    // Readers count some packets: an ADD that replaces must reset them, a MODIFY keep them.
    for (int i = 0; i < 3 && !model.rules.empty(); ++i) {
      ModelRule& r = model.rules[gen.below(static_cast<uint32_t>(model.rules.size()))];
      const Rule* real = t.rule_by_id(r.id);
      ASSERT_NE(real, nullptr);
      const uint64_t n = 1 + gen.below(9);
      real->packets += n;
      r.packets += n;
    }
    for (int i = 0; i < 4; ++i) {
      const uint8_t table = static_cast<uint8_t>(gen.below(4));
      const MatchKey p = gen.packet();
      const Rule* hit = t.lookup(table, p, nullptr);
      const auto want_id = model.lookup(table, p);
      ASSERT_EQ(hit ? std::optional<uint64_t>(hit->id) : std::nullopt, want_id) << "batch " << batch_no;
    }
  }
  // The run went through every path, not just the easy ones.
  EXPECT_GT(ok_batches, 1500);
  EXPECT_GT(mods_applied, 4000u);
  for (const char* field : {"check_overlap", "table", "actions", "goto_table", "match"}) {
    EXPECT_GT(failures[field], 5) << field;
  }
}

}  // namespace
}  // namespace sluice::ofp
