// Migration steps in version order.
#include "ovsdb_lite/migration.h"

#include <algorithm>

#include "ovsdb_lite/errors.h"

namespace sluice::ovsdb {

Status run_migrations(Json* data, const std::string& file_version, const std::string& new_version,
                      const std::vector<Migration>& migrations, std::vector<std::string>* ran) {
  auto from = parse_version(file_version);
  auto to = parse_version(new_version);
  if (!from) return failed_precondition("database file has malformed schema version \"" + file_version + "\"");
  if (!to) return invalid_argument("schema has malformed version \"" + new_version + "\"");

  std::vector<std::pair<std::array<uint64_t, 3>, const Migration*>> steps;
  for (const Migration& m : migrations) {
    auto v = parse_version(m.from_version);
    if (!v) return invalid_argument("migration has malformed from_version \"" + m.from_version + "\"");
    if (!m.apply) return invalid_argument("migration from " + m.from_version + " has no function");
    if (*v >= *from && *v < *to) steps.emplace_back(*v, &m);
  }
  std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [version, m] : steps) {
    Status st;
    try {
      st = m->apply(*data);
    } catch (const std::exception& e) {  // user code: nlohmann throws on a wrong-typed access
      st = invalid_argument(std::string("threw: ") + e.what());
    }
    if (!st.is_ok()) return with_prefix(st, "migration from " + m->from_version + ": ");
    if (!data->is_object()) return invalid_argument("migration from " + m->from_version + " left data that is not an object");
    if (ran) ran->push_back(m->from_version);
  }
  return Status::ok();
}

}  // namespace sluice::ovsdb
