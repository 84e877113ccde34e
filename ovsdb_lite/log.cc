// The log's file format, recovery scan and group commit (see log.h for the contract).
//
// Group commit: enqueue() only appends to `pending` under `mu`. The first wait_durable()
// caller that finds its record not yet durable and no flush running becomes the leader: it
// takes all of `pending`, drops the lock, frames the records into one buffer, issues one
// write() and one fdatasync(), retakes the lock, advances `durable_seq` and wakes every waiter.
// Records enqueued meanwhile go to the next leader, so `pending` always holds the seqs right
// after those in flight. `flushing` keeps the fd single-writer; compact() sets it too while it
// swaps the fd.
#include "ovsdb_lite/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "ovsdb_lite/crc32c.h"

namespace sluice::ovsdb {
namespace {

constexpr std::string_view kMagic = "SLUICEDB";
constexpr size_t kFrameHeaderBytes = 8;  // u32 length + u32 crc32c

std::string at_offset(uint64_t offset) { return " at offset " + std::to_string(offset); }

// Reads errno before anything can allocate (and so clobber it): call right after the failure.
Status io_error(const char* what, const std::string& path, int64_t offset = -1) {
  const int err = errno;
  std::string where = offset < 0 ? "" : at_offset(static_cast<uint64_t>(offset));
  return unavailable(std::string(what) + " " + path + where + ": " + std::strerror(err));
}

void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_u32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

// The checksum covers the length field too: a zero-filled tail (what some filesystems show
// after a crash for a size extended before its data was written) would otherwise read as a run
// of valid empty records, since crc32c("") == 0.
uint32_t frame_crc(uint32_t length, std::string_view payload) {
  std::string len_bytes;
  put_u32(&len_bytes, length);
  return crc32c_extend(crc32c(len_bytes), payload.data(), payload.size());
}

void append_frame(std::string* out, std::string_view payload) {
  auto length = static_cast<uint32_t>(payload.size());
  put_u32(out, length);
  put_u32(out, frame_crc(length, payload));
  out->append(payload);
}

Status write_all(int fd, std::string_view data, const std::string& path, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("write", path, static_cast<int64_t>(offset));
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

// A create or rename is durable only once the directory entry is: fsync the parent.
Status sync_parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir);
  Status st = ::fsync(fd) == 0 ? Status::ok() : io_error("fsync directory", dir);
  ::close(fd);
  return st;
}

Result<std::string> read_all(int fd, const std::string& path) {
  struct stat sb;
  if (::fstat(fd, &sb) != 0) return io_error("fstat", path);
  std::string data(static_cast<size_t>(sb.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read", path, static_cast<int64_t>(got));
    if (n == 0) break;  // shrank under us: scan what we have
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

// Writes `body` to "<path>.tmp", makes it durable and renames it over `path`; `fd` is then the
// new file, open for appending. Before the rename a failure leaves `path` as it was (and
// `renamed` false); after it, `path` is the new file even if the directory sync failed.
struct Replacement {
  int fd = -1;
  bool renamed = false;
  Status status;
};

Replacement replace_file(const std::string& path, std::string_view body, bool sync) {
  std::string tmp = path + ".tmp";
  Replacement r;
  r.fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (r.fd < 0) return {-1, false, io_error("create", tmp)};
  r.status = write_all(r.fd, body, tmp, 0);
  if (r.status.is_ok() && sync && ::fsync(r.fd) != 0) r.status = io_error("fsync", tmp);
  if (r.status.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    r.status = io_error("rename over its target", tmp);
  if (!r.status.is_ok()) {
    ::close(r.fd);
    ::unlink(tmp.c_str());
    return {-1, false, r.status};
  }
  r.renamed = true;
  if (sync) r.status = sync_parent_dir(path);
  return r;
}

// Reads records from `data` (past its valid header) up to the first frame that is short,
// oversized or fails its checksum; returns the offset where the intact prefix ends.
uint64_t scan_records(std::string_view data, uint32_t max_record_bytes,
                      std::vector<std::string>* records, LogRecovery* recovery) {
  uint64_t off = kMagic.size();
  while (off < data.size()) {
    if (data.size() - off < kFrameHeaderBytes) {
      recovery->reason = "truncated record header" + at_offset(off);
      break;
    }
    uint32_t length = get_u32(data.data() + off);
    if (length > max_record_bytes) {
      recovery->reason = "oversized record (length " + std::to_string(length) +
                         " above max_record_bytes " + std::to_string(max_record_bytes) + ")" +
                         at_offset(off);
      break;
    }
    if (data.size() - off - kFrameHeaderBytes < length) {
      recovery->reason = "truncated record (length " + std::to_string(length) + ")" +
                         at_offset(off);
      break;
    }
    std::string_view payload = data.substr(off + kFrameHeaderBytes, length);
    if (frame_crc(length, payload) != get_u32(data.data() + off + 4)) {
      recovery->reason = "checksum mismatch" + at_offset(off);
      break;
    }
    records->emplace_back(payload);
    ++recovery->records;
    off += kFrameHeaderBytes + length;
  }
  recovery->bytes_cut = data.size() - off;
  return off;
}

}  // namespace

struct Log::Impl {
  std::string path;
  Options opts;

  mutable std::mutex mu;
  std::condition_variable flushed;   // signalled whenever a flush or compaction ends
  int fd = -1;                       // used only by the thread that set `flushing`
  int lock_fd = -1;                  // <path>.lock, flock()ed for the log's lifetime
  bool flushing = false;
  std::vector<std::string> pending;  // seqs after the durable and in-flight ones
  uint64_t next_seq = 1;
  uint64_t durable_seq = 0;
  Status error;                      // sticky: once set, nothing more is written
  uint64_t file_bytes = 0;
  uint64_t records_since_compact = 0;
  uint64_t fsyncs = 0;

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
  }

  // Leader: writes and syncs everything in `pending`. Called and returns with `lk` held.
  void flush(std::unique_lock<std::mutex>& lk) {
    flushing = true;
    std::vector<std::string> batch = std::move(pending);
    pending.clear();
    const uint64_t first_seq = durable_seq + 1, offset = file_bytes;
    lk.unlock();

    size_t total = 0;
    for (const std::string& r : batch) total += kFrameHeaderBytes + r.size();
    std::string buf;
    buf.reserve(total);
    Status refused;
    uint64_t framed = 0;
    for (; framed < batch.size(); ++framed) {
      // Refuse here, not on read: an oversized record would end the log at the next open and
      // take every later, acknowledged record with it.
      if (batch[framed].size() > opts.max_record_bytes) {
        refused = invalid_argument(path + ": record " + std::to_string(first_seq + framed) +
                                   " is " + std::to_string(batch[framed].size()) +
                                   " bytes, above max_record_bytes " +
                                   std::to_string(opts.max_record_bytes));
        break;
      }
      append_frame(&buf, batch[framed]);
    }
    Status io = write_all(fd, buf, path, offset);
    const bool sync = io.is_ok() && opts.fsync && !buf.empty();
    // Sticky like every I/O error: after a failed fdatasync the kernel may have dropped the
    // dirty pages, so a retry could report success for data that is gone.
    if (sync && ::fdatasync(fd) != 0) io = io_error("fdatasync", path);

    lk.lock();
    flushing = false;
    if (io.is_ok()) {
      durable_seq += framed;
      file_bytes += buf.size();
      records_since_compact += framed;
      fsyncs += sync ? 1 : 0;
    }
    // Records after a refused one may depend on it (the database applied it in memory), so a
    // refusal is as sticky as an I/O error.
    error = io.is_ok() ? refused : io;
    flushed.notify_all();
  }

  // Returns once `seq` is durable, leading a flush if none is running. Called with `lk` held.
  Status wait(std::unique_lock<std::mutex>& lk, uint64_t seq) {
    while (seq > durable_seq) {
      if (!error.is_ok()) return error;
      if (flushing) {
        flushed.wait(lk);
      } else {
        flush(lk);
      }
    }
    return Status::ok();
  }
};

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Log::~Log() {
  // Best effort: a record nobody waited for may or may not survive, as after a crash.
  std::unique_lock<std::mutex> lk(impl_->mu);
  (void)impl_->wait(lk, impl_->next_seq - 1);
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, Options opts,
                                       std::vector<std::string>* records, LogRecovery* recovery) {
  std::vector<std::string> unused_records;
  LogRecovery unused_recovery;
  if (records == nullptr) records = &unused_records;
  if (recovery == nullptr) recovery = &unused_recovery;
  records->clear();
  *recovery = LogRecovery{};

  auto impl = std::make_unique<Impl>();  // ~Impl closes the fd on every early return
  impl->path = path;
  impl->opts = opts;
  // Two writers on one log would interleave records; the lock lives in its own file because
  // compaction renames a new inode over <path>, which would drop a lock held on <path> itself.
  const std::string lock_path = path + ".lock";
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->lock_fd < 0) return io_error("open", lock_path);
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return failed_precondition(path + ": in use by another process (" + lock_path + " is locked)");
    return io_error("lock", lock_path);
  }
  impl->fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (impl->fd < 0 && errno != ENOENT) return io_error("open", path);
  std::string data;
  if (impl->fd >= 0) {
    Result<std::string> read = read_all(impl->fd, path);
    if (!read.is_ok()) return read.status();
    data = std::move(read.value());
  }
  const bool blank = data.size() < kMagic.size() &&
                     std::all_of(data.begin(), data.end(), [](char c) { return c == '\0'; });
  if (impl->fd >= 0 && !blank && data.compare(0, kMagic.size(), kMagic) != 0) {
    // Not ours (or not recognisably ours): never truncate or rewrite it.
    return failed_precondition(path + ": not a sluice log (bad magic at offset 0, " +
                               std::to_string(data.size()) + " bytes)");
  }

  // A .tmp is a compaction (or creation) that never reached its rename: <path> is the truth.
  // Removed only now that <path> is known to be a log, so a foreign file's neighbour is safe.
  std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return io_error("remove", tmp);

  uint64_t end = kMagic.size();
  if (impl->fd < 0 || blank) {
    // Absent, or an empty/zero stub: create via rename, so <path> never lacks its header.
    if (impl->fd >= 0) ::close(impl->fd);
    Replacement r = replace_file(path, kMagic, opts.fsync);
    impl->fd = r.fd;
    if (!r.status.is_ok()) return r.status;
  } else {
    end = scan_records(data, opts.max_record_bytes, records, recovery);
    if (opts.first_record_is_base && recovery->bytes_cut > 0 && recovery->records == 0) {
      return failed_precondition(path + ": the snapshot record is damaged (" + recovery->reason +
                                 "); the file is left untouched");
    }
    if (recovery->bytes_cut > 0 && (::ftruncate(impl->fd, static_cast<off_t>(end)) != 0 ||
                                    (opts.fsync && ::fsync(impl->fd) != 0)))
      return io_error("truncate", path, static_cast<int64_t>(end));
  }
  impl->file_bytes = end;
  impl->records_since_compact = recovery->records;
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

uint64_t Log::enqueue(std::string record) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (impl_->error.is_ok()) impl_->pending.push_back(std::move(record));
  return impl_->next_seq++;
}

Status Log::wait_durable(uint64_t seq) {
  std::unique_lock<std::mutex> lk(impl_->mu);
  if (seq >= impl_->next_seq)
    return invalid_argument(impl_->path + ": wait_durable(" + std::to_string(seq) +
                            "): record not enqueued");
  return impl_->wait(lk, seq);
}

Status Log::append(std::string record) { return wait_durable(enqueue(std::move(record))); }

Status Log::compact(std::string_view snapshot) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lk(d.mu);
  if (Status st = d.wait(lk, d.next_seq - 1); !st.is_ok()) return st;
  if (!d.error.is_ok()) return d.error;
  if (snapshot.size() > d.opts.max_record_bytes)
    return invalid_argument(d.path + ": snapshot is " + std::to_string(snapshot.size()) +
                            " bytes, above max_record_bytes " +
                            std::to_string(d.opts.max_record_bytes));
  d.flushing = true;
  lk.unlock();

  std::string body(kMagic);
  append_frame(&body, snapshot);
  Replacement r = replace_file(d.path, body, d.opts.fsync);

  lk.lock();
  d.flushing = false;
  if (r.renamed) {
    // <path> is the new file now; the old inode is unlinked, so appends must go to the new fd.
    ::close(d.fd);
    d.fd = r.fd;
    d.file_bytes = body.size();
    d.records_since_compact = 0;
    // Without the directory sync the rename may not survive a crash, and records appended to
    // the new file would vanish with it: stop writing.
    if (!r.status.is_ok()) d.error = r.status;
  }
  d.flushed.notify_all();
  return r.status;
}

uint64_t Log::file_bytes() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->file_bytes;
}

uint64_t Log::records_since_compact() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->records_since_compact;
}

uint64_t Log::fsyncs() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->fsyncs;
}

}  // namespace sluice::ovsdb
