// Log: the durable, append-only file under the database. It knows records (opaque bytes), not
// transactions: each record is framed as [u32 length][u32 crc32c][payload], little endian,
// after an 8-byte file header ("SLUICEDB" magic). The crc32c covers the 4 length bytes and then
// the payload (not the payload alone), so a zero-filled tail is not read as empty records.
//
// Durability
// - enqueue() orders a record (the database calls it under its commit lock, so log order is
//   commit order); wait_durable(seq) returns once that record is written and fsynced. Callers
//   that wait at the same time share one write + fdatasync (group commit): the first waiter
//   becomes the leader and flushes everything enqueued so far.
// - open() reads every intact record. The first record that is short, oversized or fails its
//   checksum ends the log: the file is truncated there (and fsynced) and `recovery` says how
//   many bytes were cut and why. A partial transaction is never returned. A corrupt record in
//   the middle also ends the log: the records after it may depend on it, so they are cut too.
//   A file with a wrong magic is an error and is left untouched; an empty or all-zero file
//   shorter than the header is re-initialized; a stale "<path>.tmp" is removed.
// - compact(snapshot) replaces the whole file by a header plus one record, crash-safely:
//   write "<path>.tmp", fsync it, rename over <path>, fsync the directory. A crash leaves either
//   the old log or the new file, never a mix. Records enqueued before compact() are flushed to
//   the old file first and then replaced too: the snapshot must already contain them.
// - A record above max_record_bytes is refused when flushed: its wait_durable fails with
//   kInvalidArgument and, like an I/O error, the failure is sticky (later records may depend
//   on it). Records before it in the same batch are still written.
// - Options.fsync=false skips every fsync/fdatasync (file and directory).
//
// Thread safety: every method may be called from any thread. compact() must not run
// concurrently with enqueue() (the database holds its commit lock around both).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datapath/status.h"

namespace sluice::ovsdb {

struct LogRecovery {
  uint64_t records = 0;        // intact records read
  uint64_t bytes_cut = 0;      // torn or corrupt tail removed
  std::string reason;          // empty when nothing was cut ("checksum mismatch at offset N", ...)
};

class Log {
 public:
  struct Options {
    bool fsync = true;                  // false only for benchmarks/tests that measure the rest
    uint32_t max_record_bytes = 64u << 20;
    // The first record is the base everything else applies to (the database's snapshot, always
    // written whole by compact()): if it is damaged, open() fails and leaves the file untouched
    // instead of cutting it back to an empty log, so an operator can still rescue the data.
    bool first_record_is_base = false;
  };

  // Opens or creates `path`; `records` receives every intact record in order.
  static Result<std::unique_ptr<Log>> open(const std::string& path, Options opts,
                                           std::vector<std::string>* records, LogRecovery* recovery);
  ~Log();

  // Orders a record after every record enqueued before; returns its sequence number (1, 2, ...).
  uint64_t enqueue(std::string record);
  // Returns once record `seq` (and every one before it) is on disk. An I/O error is sticky:
  // every later call fails with it (a seq already durable still returns OK). A seq never
  // returned by enqueue() fails with kInvalidArgument.
  Status wait_durable(uint64_t seq);
  // enqueue + wait_durable.
  Status append(std::string record);
  // Replaces the log by a single snapshot record (see above). Pending records are flushed first.
  Status compact(std::string_view snapshot);

  uint64_t file_bytes() const;        // current size on disk (after pending flushes)
  uint64_t records_since_compact() const;  // 0 after compact(); after open(), every record read
                                           // (the log cannot tell a snapshot from the rest)
  uint64_t fsyncs() const;            // how many fdatasyncs were issued (group-commit evidence);
                                      // counts only record flushes, not open/compact syncs

 private:
  struct Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::ovsdb
