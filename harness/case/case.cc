#include "case/case.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "os/case_error.h"
#include "os/names.h"
#include "os/proc.h"
#include "os/wait.h"
#include "protocol/case_file_name.h"
#include "protocol/case_protocol.h"

namespace sockspec {

namespace {

Case* g_current = nullptr;

std::chrono::milliseconds case_budget() {
  const std::string ms = protocol::variable(protocol::kCaseTimeoutVariable);
  return std::chrono::milliseconds(ms.empty() ? 10'000 : std::atol(ms.c_str()));
}

void reset_sigpipe() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

Case::Case(std::string id) : id_(case_file_name(id)), deadline_(Clock::now() + case_budget()) {
  if (g_current) throw CaseError("a case is already running in this process");
  reset_sigpipe();
  if (const std::string given = protocol::variable(protocol::kCaseDirVariable); !given.empty()) {
    dir_ = given;
    std::filesystem::create_directories(dir_);
  } else {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sockspec-case.XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw CaseError(fmt::format("mkdtemp: {}", std::strerror(errno)));
    dir_ = pattern;
    own_dir_ = true;
  }
  // Searchable by anyone: some cases drop privileges in a peer and must reach the dir.
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec);
  previous_cwd_ = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  abstract_prefix_ = fmt::format("sockspec.{}.", ::getpid());
  g_current = this;
}

Case::~Case() {
  peers_.clear();  // each Peer kills and reaps its process if still running
  std::error_code ignored;
  std::filesystem::current_path(previous_cwd_, ignored);
  if (own_dir_) std::filesystem::remove_all(dir_, ignored);
  g_current = nullptr;
}

bool Case::running() {
  return g_current != nullptr;
}

Case& Case::current() {
  if (!g_current) throw CaseError("no case is running in this process");
  return *g_current;
}

std::string Case::abstract_name(std::string_view stem) {
  return fmt::format("{}{}-{}", abstract_prefix_, stem, ++serial_);
}

std::string Case::path_name(std::string_view stem) {
  return fmt::format("{}-{}", stem, ++serial_);
}

std::filesystem::path Case::trace_path(std::string_view what) const {
  if (const std::string dir = protocol::variable(protocol::kTraceDirVariable); !dir.empty())
    return std::filesystem::path(dir) / fmt::format("{}.{}.strace", id_, what);
  return dir_ / fmt::format("{}.strace", what);
}

Peer& Case::fork_peer(std::string name, PeerFunction body) {
  ChannelPair channels = make_channel_pair(name);
  std::fflush(nullptr);  // or buffered output would be written twice
  const pid_t controller = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw CaseError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    // A peer dies with its controller. A controller that is killed (by a fault of `sockspec
    // faults`, or a crash) cannot end its peers, and a peer asleep in a call that only the
    // controller could complete would outlive its case: the runner sweeps up such orphans,
    // but a case run by hand (a fault's reproducer) has no runner.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != controller) ::_exit(1);
    channels.controller_side.close();
    for (auto& sibling : peers_) sibling.drop_in_child();
    PeerSelf self(name, std::move(channels.peer_side), deadline_);
    run_peer_body(self, body);
  }
  channels.peer_side.close();
  return peers_.emplace_back(std::move(name), pid, std::move(channels.controller_side), deadline_);
}

void Case::join_all() {
  for (auto& peer : peers_)
    if (!peer.joined()) peer.expect_clean_exit();
}

void CaseTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  case_.emplace(fmt::format("{}.{}", info->test_suite_name(), info->name()));
}

void CaseTest::TearDown() {
  case_->join_all();
  case_.reset();
}

}  // namespace sockspec
