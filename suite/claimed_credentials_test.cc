// SCM_CREDENTIALS written by the sender: the kernel does not take the pid, uid and gid on
// trust. A process may claim its own pid and any of its real, effective and saved uids and
// gids; CAP_SYS_ADMIN lets it name another process, CAP_SETUID and CAP_SETGID other ids. A
// pid that names no process is ESRCH. scm_check_creds() and __scm_send() in net/core/scm.c
// decide it.
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/control_message.h"
#include "case/expect.h"
#include "case/rule.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

// Above PID_MAX_LIMIT (4194304): no process can have it.
constexpr pid_t kNoSuchPid = 0x3fffffff;

// A datagram socketpair whose receiving end has SO_PASSCRED, so every message shows the
// credentials it was sent with.
class ClaimedCredentialsTest : public CaseTest {
 protected:
  void SetUp() override {
    CaseTest::SetUp();
    const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
    sender_.reset(pair.fds[0]);
    receiver_.reset(pair.fds[1]);
    must(call::setsockopt(receiver_.get(), SOL_SOCKET, SO_PASSCRED, 1));
  }

  CallResult send_claiming(const ucred& claimed) {
    ControlMessages control;
    control.credentials(claimed);
    return sendmsg_with(sender_.get(), "c", 0, control);
  }

  // The credentials the next message arrived with, "{pid= uid= gid=}", or what went wrong.
  std::string next_credentials() {
    const CallResult r = call::recvmsg_with_control(receiver_.get(), 16, MSG_DONTWAIT);
    if (r.failed()) return r.describe();
    if (!r.credentials) return "no SCM_CREDENTIALS";
    return fmt::format("{{pid={} uid={} gid={}}}", r.credentials->pid, r.credentials->uid,
                       r.credentials->gid);
  }

  Fd sender_, receiver_;
};

SOCKSPEC_RULE(ClaimedCredentialsTest, PrivilegedSenderMayClaimAnyExistingProcess,
              .text =
                  "a sender with CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID may claim another "
                  "process's pid and any uid and gid, which the receiver gets as written; a "
                  "pid that names no process fails with ESRCH",
              .citation =
                  "unix(7) SCM_CREDENTIALS (\"privileged processes can specify values that "
                  "do not match their own\"); kernel: scm_check_creds(), __scm_send() "
                  "(find_get_pid() fails -> -ESRCH)",
              .catalogue = "AC-09");
TEST_F(ClaimedCredentialsTest, PrivilegedSenderMayClaimAnyExistingProcess) {
  SOCKSPEC_REQUIRES("root");
  const pid_t other = ::getppid();  // the process that started this case
  EXPECT_THAT(send_claiming({other, 1234, 5678}), Returns(1));
  EXPECT_EQ(next_credentials(), fmt::format("{{pid={} uid=1234 gid=5678}}", other));
  EXPECT_THAT(send_claiming({kNoSuchPid, 0, 0}), FailsWith(ESRCH));
  EXPECT_THAT(call::recv(receiver_.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
}

SOCKSPEC_RULE(ClaimedCredentialsTest, UnprivilegedSenderClaimsOnlyItsOwnIds,
              .text =
                  "a sender without privileges may claim its own pid and its real, effective "
                  "or saved uid and gid; another pid (existing or not), or any other uid or "
                  "gid, fails with EPERM and sends nothing",
              .citation =
                  "unix(7) SCM_CREDENTIALS (\"the sender must specify its own process ID ... "
                  "real user ID, effective user ID, or saved set-user-ID\"); kernel: "
                  "scm_check_creds() (checked before the pid is looked up)",
              .catalogue = "AC-09");
TEST_F(ClaimedCredentialsTest, UnprivilegedSenderClaimsOnlyItsOwnIds) {
  SOCKSPEC_REQUIRES("root");  // to become a process whose three ids all differ
  const pid_t controller = ::getpid();
  Peer& sender = here().fork_peer("unprivileged", [&](PeerSelf& self) {
    receiver_.reset();
    if (::setgroups(0, nullptr) != 0 || ::setresgid(1000, 65534, 2000) != 0 ||
        ::setresuid(1000, 65534, 2000) != 0)
      throw CaseError("dropping privileges: " + errno_name(errno));
    const pid_t me = ::getpid();
    EXPECT_THAT(send_claiming({me, 1000, 1000}), Returns(1)) << "real ids";
    EXPECT_THAT(send_claiming({me, 65534, 65534}), Returns(1)) << "effective ids";
    EXPECT_THAT(send_claiming({me, 2000, 2000}), Returns(1)) << "saved ids";
    EXPECT_THAT(send_claiming({me, 0, 1000}), FailsWith(EPERM)) << "uid 0";
    EXPECT_THAT(send_claiming({me, 1000, 0}), FailsWith(EPERM)) << "gid 0";
    EXPECT_THAT(send_claiming({controller, 1000, 1000}), FailsWith(EPERM)) << "another pid";
    EXPECT_THAT(send_claiming({kNoSuchPid, 1000, 1000}), FailsWith(EPERM)) << "no such pid";
    self.notify("sent");
  });
  sender.await("sent");
  const pid_t pid = sender.pid();
  EXPECT_EQ(next_credentials(), fmt::format("{{pid={} uid=1000 gid=1000}}", pid));
  EXPECT_EQ(next_credentials(), fmt::format("{{pid={} uid=65534 gid=65534}}", pid));
  EXPECT_EQ(next_credentials(), fmt::format("{{pid={} uid=2000 gid=2000}}", pid));
  EXPECT_THAT(call::recv(receiver_.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
  sender.expect_clean_exit();
}

SOCKSPEC_RULE(ClaimedCredentialsTest, ClaimingAProcessBeingReaped,
              .text =
                  "claiming the pid of a child that is exiting and being reaped at the same "
                  "moment succeeds (with that pid delivered) or fails with ESRCH or EAGAIN, "
                  "never anything else",
              .citation =
                  "unix(7) SCM_CREDENTIALS; kernel: __scm_send() (find_get_pid() races "
                  "the child's release)",
              .catalogue = "AC-13");
TEST_F(ClaimedCredentialsTest, ClaimingAProcessBeingReaped) {
  SOCKSPEC_REQUIRES("root");
  constexpr int kRounds = 200;
  std::map<std::string, int> outcomes;
  for (int round = 0; round < kRounds; ++round) {
    const pid_t child = ::fork();
    if (child < 0) throw CaseError("fork: " + errno_name(errno));
    if (child == 0) ::_exit(0);
    std::thread reaper([child] { ::waitpid(child, nullptr, 0); });
    const CallResult sent = send_claiming({child, ::getuid(), ::getgid()});
    reaper.join();
    if (!sent.failed()) {
      ++outcomes["sent"];
      EXPECT_EQ(next_credentials(),
                fmt::format("{{pid={} uid={} gid={}}}", child, ::getuid(), ::getgid()));
    } else {
      ++outcomes[errno_name(sent.err)];
      EXPECT_TRUE(sent.err == ESRCH || sent.err == EAGAIN) << sent.describe();
    }
  }
  std::string seen;
  for (const auto& [outcome, count] : outcomes) seen += fmt::format(" {}={}", outcome, count);
  RecordProperty("outcomes", seen);
}

}  // namespace
}  // namespace sockspec
