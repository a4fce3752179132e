#include "runner/engine/case_server_link.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "os/files.h"
#include "os/pipe_write.h"
#include "os/proc.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw RunnerError(fmt::format("pipe2: {}", std::strerror(errno)));
  return {Fd(fds[0]), Fd(fds[1])};
}

}  // namespace

CaseServerLink::CaseServerLink(const Target& target, const std::filesystem::path& program,
                               const WrapPlace& place, const std::vector<std::string>& env,
                               std::filesystem::path log)
    : log_(std::move(log)), greeting_(target.server_greeting) {
  auto [request_read, request_write] = make_pipe();
  auto [reply_read, reply_write] = make_pipe();
  try {
    child_ = spawn({.argv = target.wrap(target, {program.string(), "--sockspec-serve"}, place),
                    .env = env,
                    .cwd = place.work_dir,
                    .in = Redirect::to_fd(request_read.get()),
                    .out = Redirect::to_fd(reply_write.get()),
                    .err = Redirect::append(log_),
                    .grouping = Grouping::kOwnSession});
  } catch (const SpawnError& e) {
    throw RunnerError(e.what());
  }
  requests_ = std::move(request_write);
  replies_ = std::move(reply_read);
}

CaseServerLink::~CaseServerLink() {
  end_input();  // the server ends its case and exits when its input ends
  child_.ended_by(Clock::now() + std::chrono::milliseconds(1000));
  // With it go its wrapper's helpers in its session (runsc's sandbox and gofer). A case it
  // left behind comes to the runner, a child subreaper, which kills every process that no
  // running case owns.
  child_.kill_group();
}

std::uintmax_t CaseServerLink::log_size() const {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(log_, error);
  return error ? 0 : size;
}

std::string CaseServerLink::log_since(std::uintmax_t offset) const {
  std::ifstream log(log_, std::ios::binary);
  if (!log.seekg(static_cast<std::streamoff>(offset))) return "";
  return {std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
}

void CaseServerLink::send(const std::string& message) {
  if (!greeting_.empty()) {
    held_ += message;
    return;
  }
  const char* data = message.data();
  std::size_t left = message.size();
  while (left > 0 && !dead_) {
    // A server that died shows as EPIPE, and its SIGPIPE must not reach the run's signalfd,
    // where a SIGPIPE means that the runner's own output was closed.
    const ssize_t n = write_without_sigpipe(requests_.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      dead_ = true;  // EPIPE: the server is gone
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void CaseServerLink::run(const protocol::CaseRequest& request) {
  send(protocol::run_message(request));
}

void CaseServerLink::kill(std::uint64_t id, bool describe) {
  send(protocol::kill_message(id, describe));
}

std::vector<protocol::ServerReply> CaseServerLink::read_replies() {
  std::vector<protocol::ServerReply> replies;
  char buffer[65536];
  const ssize_t n = ::read(replies_.get(), buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return replies;
  if (n <= 0) {
    dead_ = true;
    return replies;
  }
  pending_.append(buffer, static_cast<std::size_t>(n));
  for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
    const std::string line = pending_.substr(0, end);
    pending_.erase(0, end + 1);
    if (!greeting_.empty() && line == greeting_) {
      greeting_.clear();
      send(std::exchange(held_, {}));
      continue;
    }
    try {
      replies.push_back(protocol::reply_from_json(line));
    } catch (const std::exception&) {
      // Not a reply: something under the wrapper wrote to the server's stdout. The server
      // is no longer trustworthy; it is treated as dead, and the case re-run elsewhere.
      dead_ = true;
      break;
    }
  }
  return replies;
}

std::string CaseServerLink::how_it_died() {
  const bool ended = child_.ended_by(Clock::now() + std::chrono::seconds(2));
  const ExitStatus status = child_.kill_group();
  return fmt::format("the case server {}{}; {}", status.describe(),
                     ended ? "" : " (it was killed: it had stopped answering)", log_tail(log_, 10));
}

}  // namespace sockspec
