// TxnExecutor: runs one transaction's RFC 7047 §5.2 operations against a TxnView (private).
// Supported: insert (uuid-name), update, mutate, delete, select, wait, comment, commit, abort.
// Each operation either succeeds completely on the view or fails; the caller drops the view
// on failure, so a failed transaction leaves no trace.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovsdb_lite/txn_view.h"
#include "ovsdb_lite/where.h"

namespace sluice::ovsdb {

class TxnExecutor {
 public:
  TxnExecutor(const SchemaDef& schema, const RowStore& store);

  // Runs every operation in order. Returns the per-operation results, or the first error,
  // prefixed "operation <i> (<op> <table>): ".
  Result<Json> run(const Json& operations);

  // When run() failed on a "wait" that was not satisfied: its timeout in milliseconds
  // (-1: none given, wait forever). The caller may retry the whole transaction after commits.
  std::optional<int64_t> failed_wait_timeout() const { return failed_wait_timeout_; }

  TxnView& view() { return view_; }

 private:
  struct Op {
    size_t index;
    const Json& json;
    const TableDef* table = nullptr;
    size_t table_index = 0;
  };

  Result<Json> run_one(Op& op);
  Result<Json> insert(const Op& op);
  Result<Json> update(const Op& op);
  Result<Json> mutate(const Op& op);
  Result<Json> erase(const Op& op);
  Result<Json> select(const Op& op);
  Result<Json> wait(const Op& op);

  Result<Uuid> resolve_named(const std::string& name);
  Result<std::vector<Condition>> where(const Op& op);
  // Parses a row object (insert: any column; update: mutable ones).
  Result<std::map<std::string, Datum>> parse_row(const Op& op, const Json& row, bool for_update);
  // UUIDs of the rows that satisfy every condition (uses _uuid and index equality shortcuts).
  std::vector<Uuid> matching(const Op& op, const std::vector<Condition>& conditions) const;
  Result<std::vector<std::string>> column_list(const Op& op, const char* member) const;

  TxnView view_;
  NamedUuidResolver resolver_;
  std::map<std::string, Uuid> named_;             // uuid-name → UUID (defined or referenced)
  std::map<std::string, size_t> undefined_named_; // referenced before any insert defined it
  size_t current_op_ = 0;
  std::optional<int64_t> failed_wait_timeout_;
};

}  // namespace sluice::ovsdb
