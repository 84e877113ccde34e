// Mutation parsing and application (RFC 7047 §5.1 <mutation>).
#include "ovsdb_lite/mutation.h"

#include <algorithm>

#include "ovsdb_lite/datum_ops.h"
#include "ovsdb_lite/errors.h"

namespace sluice::ovsdb {
namespace {

Result<Mutator> parse_mutator(const std::string& m) {
  if (m == "+=") return Mutator::kAdd;
  if (m == "-=") return Mutator::kSub;
  if (m == "*=") return Mutator::kMul;
  if (m == "/=") return Mutator::kDiv;
  if (m == "%=") return Mutator::kMod;
  if (m == "insert") return Mutator::kInsert;
  if (m == "delete") return Mutator::kDelete;
  return invalid_argument("unknown mutator \"" + m + "\"");
}

bool is_arithmetic(Mutator m) { return m != Mutator::kInsert && m != Mutator::kDelete; }

// Returns false on overflow.
bool arithmetic(Mutator m, int64_t a, int64_t b, int64_t* out) {
  switch (m) {
    case Mutator::kAdd: return !__builtin_add_overflow(a, b, out);
    case Mutator::kSub: return !__builtin_sub_overflow(a, b, out);
    case Mutator::kMul: return !__builtin_mul_overflow(a, b, out);
    case Mutator::kDiv:
      if (a == INT64_MIN && b == -1) return false;
      *out = a / b;
      return true;
    case Mutator::kMod:
      if (b == -1) { *out = 0; return true; }
      *out = a % b;
      return true;
    default: return false;
  }
}

Result<Mutation> parse_one(const Json& m, const TableDef& table, const NamedUuidResolver* names) {
  if (!m.is_array() || m.size() != 3 || !m[0].is_string() || !m[1].is_string())
    return invalid_argument("mutation " + m.dump() + " is not [column, mutator, value]");
  std::string name = m[0].get<std::string>();
  std::string prefix = "column " + name + ": ";
  if (name == "_uuid") return invalid_argument(prefix + "cannot be mutated");
  const ColumnDef* col = table.column(name);
  if (col == nullptr) return not_found(prefix + "no such column in table " + table.name);
  if (!col->is_mutable) return invalid_argument(prefix + "is immutable (\"mutable\": false)");
  Result<Mutator> mutator = parse_mutator(m[1].get<std::string>());
  if (!mutator.is_ok()) return with_prefix(mutator.status(), prefix);

  Mutation out{col, mutator.value()};
  const ColumnType& type = col->type;
  if (is_arithmetic(out.mutator)) {
    if (type.is_map() || type.key.type != AtomicType::kInteger)
      return invalid_argument(prefix + "mutator " + m[1].get<std::string>() + " needs an integer column");
    Result<Atom> operand = atom_from_json(m[2], AtomicType::kInteger, names);
    if (!operand.is_ok()) return with_prefix(operand.status(), prefix);
    out.operand = std::get<int64_t>(operand.value());
    if ((out.mutator == Mutator::kDiv || out.mutator == Mutator::kMod) && out.operand == 0)
      return invalid_argument(prefix + "division by zero");
    return out;
  }
  Result<Datum> arg = invalid_argument("");
  if (out.mutator == Mutator::kDelete && type.is_map() && json_type_name(m[2]) != "map") {
    arg = key_set_from_json(m[2], type, names);  // a set of keys to remove
  } else {
    out.delete_pairs = type.is_map();
    arg = datum_from_json(m[2], type, names);
  }
  if (!arg.is_ok()) return with_prefix(arg.status(), prefix);
  out.arg = std::move(arg.value());
  return out;
}

}  // namespace

Result<std::vector<Mutation>> parse_mutations(const Json& mutations, const TableDef& table,
                                              const NamedUuidResolver* names) {
  if (!mutations.is_array()) return invalid_argument("\"mutations\" must be an array");
  std::vector<Mutation> out;
  for (const Json& m : mutations) {
    Result<Mutation> one = parse_one(m, table, names);
    if (!one.is_ok()) return one.status();
    out.push_back(std::move(one.value()));
  }
  return out;
}

Status apply_mutations(const std::vector<Mutation>& mutations, Row* row) {
  for (const Mutation& m : mutations) {
    const ColumnType& type = m.column->type;
    std::string prefix = "column " + m.column->name + ": ";
    Datum& d = row->columns[m.column->name];
    switch (m.mutator) {
      case Mutator::kInsert:
        datum_insert(&d, m.arg, type.is_map());
        break;
      case Mutator::kDelete:
        if (m.delete_pairs) datum_delete_pairs(&d, m.arg); else datum_delete_keys(&d, m.arg);
        break;
      default:
        for (Atom& a : d.keys) {
          int64_t result;
          if (!arithmetic(m.mutator, std::get<int64_t>(a), m.operand, &result))
            return invalid_argument(prefix + "integer overflow");
          a = result;
        }
        // Multiplying or dividing a set can merge elements (e.g. *= 0): keep it a set.
        std::sort(d.keys.begin(), d.keys.end());
        d.keys.erase(std::unique(d.keys.begin(), d.keys.end()), d.keys.end());
        break;
    }
    if (Status st = check_datum(d, type); !st.is_ok()) return with_prefix(st, prefix + "mutation result ");
  }
  return Status::ok();
}

}  // namespace sluice::ovsdb
