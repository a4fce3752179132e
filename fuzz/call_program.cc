#include "call_program.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace sockspec::fuzz {

namespace {

constexpr std::array<std::string_view, 3> kTypes = {"SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM"};
// Names both actors can reach: two paths in the case's directory and an abstract name.
constexpr std::array<std::string_view, 3> kAddresses = {"\"s1\"", "\"s2\"", "@\"s3\""};
// Sizes that matter to AF_UNIX: one byte, a short message, a page, more than a datagram's
// default limit (sysctl net.unix.max_dgram_qlen aside, SO_SNDBUF bounds it), more than a
// stream's default send buffer.
constexpr std::array<int, 7> kSendSizes = {1, 3, 64, 4096, 70000, 250000, 0};
constexpr std::array<int, 6> kReceiveSizes = {1, 3, 100, 4096, 70000, 0};

struct Actor {
  std::string name;
  std::vector<std::string> fds;  // the names of the fds it holds, in the order they were made
  int made = 0;
};

// One program being written: the actors' fds as the lines so far leave them.
class ProgramWriter {
 public:
  explicit ProgramWriter(FuzzedDataProvider& input) : in_(input) {}

  CallProgram write(int max_calls) {
    const int topology = in_.ConsumeIntegralInRange(0, 3);
    type_ = kTypes[static_cast<std::size_t>(topology % 3)];
    program_.header = {
        "# A call sequence of the differential fuzzer: each line's result natively and on the "
        "target.",
        "# Source: unix(7), socket(7) and the pages of each call",
        "# Fault: none",
        "",
    };
    for (Actor& actor : actors_) add(actor, "signal(SIGPIPE, SIG_IGN)");
    set_up(topology);
    for (int n = 0; n < max_calls && in_.remaining_bytes() > 0; ++n) call();
    return std::move(program_);
  }

 private:
  // The exchange the calls start from: a connection made through a listener (stream,
  // seqpacket), a connected datagram socket, or each actor with a socketpair of its own.
  void set_up(int topology) {
    Actor& a = actors_[0];
    Actor& b = actors_[1];
    if (topology == 3) {
      for (Actor& actor : actors_) pair(actor, std::string(type_));
      return;
    }
    const std::string listener = socket(a, std::string(type_));
    add(a, fmt::format("bind({}, \"s1\")", listener));
    if (type_ != "SOCK_DGRAM") add(a, fmt::format("listen({}, 1)", listener));
    const std::string client = socket(b, std::string(type_));
    add(b, fmt::format("connect({}, \"s1\")", client));
    if (type_ != "SOCK_DGRAM") bind_new(a, fmt::format("accept4({}, SOCK_NONBLOCK)", listener));
  }

  void call() {
    Actor& actor = actors_[in_.ConsumeBool() ? 1 : 0];
    if (actor.fds.empty()) {
      socket(actor, any_type());
      return;
    }
    const std::string fd = pick(actor.fds);
    switch (in_.ConsumeIntegralInRange(0, 23)) {
      case 0:
        socket(actor, any_type());
        break;
      case 1:
        pair(actor, any_type());
        break;
      case 2:
        add(actor, fmt::format("bind({}, {})", fd, in_.ConsumeBool() ? "unnamed" : address()));
        break;
      case 3:
        add(actor, fmt::format("listen({}, {})", fd, in_.ConsumeIntegralInRange(0, 2)));
        break;
      case 4:
        add(actor, fmt::format("connect({}, {})", fd, in_.ConsumeBool() ? "AF_UNSPEC" : address()));
        break;
      case 5:
        bind_new(actor, fmt::format("accept4({}, SOCK_NONBLOCK)", fd));
        break;
      case 6:
      case 7:
        add(actor, fmt::format("send({}, {}, {})", fd, bytes(), send_flags()));
        break;
      case 8:
        add(actor, fmt::format("sendto({}, {}, {}, {})", fd, bytes(), send_flags(), address()));
        break;
      case 9:
        add(actor, fmt::format("sendmsg({}, {}, {}, SCM_RIGHTS({}))", fd, bytes(), send_flags(),
                               pick(actor.fds)));
        break;
      case 10:
      case 11:
        add(actor, fmt::format("recv({}, {}, {})", fd, receive_size(), receive_flags()));
        break;
      case 12:
        add(actor, fmt::format("recvfrom({}, {}, {})", fd, receive_size(), receive_flags()));
        break;
      case 13:
        add(actor, fmt::format("recvmsg({}, {}, {})", fd, receive_size(), receive_flags()));
        break;
      case 14:
        add(actor, fmt::format("shutdown({}, {})", fd,
                               in_.PickValueInArray({"SHUT_RD", "SHUT_WR", "SHUT_RDWR"})));
        break;
      case 15:
        close(actor, fd);
        break;
      case 16:
        add(actor, fmt::format("getsockopt({}, SOL_SOCKET, {})", fd,
                               in_.PickValueInArray({"SO_ERROR", "SO_TYPE", "SO_ACCEPTCONN",
                                                     "SO_PASSCRED", "SO_PEEK_OFF", "SO_RCVLOWAT",
                                                     "SO_SNDBUF", "SO_RCVBUF", "SO_PROTOCOL"})));
        break;
      case 17: {
        const char* option = in_.PickValueInArray({"SO_PEEK_OFF", "SO_PASSCRED", "SO_RCVLOWAT"});
        add(actor, fmt::format("setsockopt({}, SOL_SOCKET, {}, {})", fd, option,
                               in_.PickValueInArray({0, 1, 3, 100})));
        break;
      }
      case 18:
        add(actor, fmt::format("poll({}, {}, 0)", fd,
                               in_.PickValueInArray({"POLLIN", "POLLOUT", "POLLIN|POLLOUT",
                                                     "POLLIN|POLLOUT|POLLRDHUP", "POLLPRI"})));
        break;
      case 19:
        add(actor, fmt::format("ioctl({}, {})", fd,
                               in_.PickValueInArray({"FIONREAD", "TIOCOUTQ", "SIOCATMARK"})));
        break;
      case 20:
        add(actor, fmt::format("{}({})", in_.ConsumeBool() ? "getsockname" : "getpeername", fd));
        break;
      case 21:
        bind_new(actor, fmt::format("dup({})", fd));
        break;
      case 22:
        add(actor, fmt::format("write({}, {})", fd, bytes()));
        break;
      default:
        add(actor, fmt::format("read({}, {})", fd, receive_size()));
        break;
    }
  }

  void add(const Actor& actor, const std::string& call) {
    program_.lines.push_back(fmt::format("{}: {} = ?", actor.name, call));
  }
  std::string fresh_name(Actor& actor) {
    std::string name = fmt::format("{}{}", actor.name, ++actor.made);
    actor.fds.push_back(name);
    return name;
  }
  void bind_new(Actor& actor, const std::string& call) {
    const std::string name = fresh_name(actor);
    add(actor, name + " = " + call);
  }
  std::string socket(Actor& actor, const std::string& type) {
    const std::string name = fresh_name(actor);
    add(actor, fmt::format("{} = socket(AF_UNIX, {}|SOCK_NONBLOCK, 0)", name, type));
    return name;
  }
  void pair(Actor& actor, const std::string& type) {
    const std::string one = fresh_name(actor);
    const std::string two = fresh_name(actor);
    add(actor, fmt::format("{}, {} = socketpair(AF_UNIX, {}|SOCK_NONBLOCK, 0)", one, two, type));
  }
  // A closed name is never used again: its number may be reused, differently elsewhere.
  void close(Actor& actor, const std::string& fd) {
    add(actor, fmt::format("close({})", fd));
    std::erase(actor.fds, fd);
  }

  std::string pick(const std::vector<std::string>& names) {
    return names[in_.ConsumeIntegralInRange<std::size_t>(0, names.size() - 1)];
  }
  std::string any_type() {
    return std::string(in_.ConsumeBool() ? type_ : in_.PickValueInArray(kTypes));
  }
  std::string address() { return std::string(in_.PickValueInArray(kAddresses)); }
  // Each send's bytes are one letter, its own, so a reader's bytes show which sends they
  // came from and in what order.
  std::string bytes() {
    const char letter = static_cast<char>('a' + program_.lines.size() % 26);
    const int size = in_.PickValueInArray(kSendSizes);
    if (size <= 1) return size == 0 ? "\"\"" : fmt::format("\"{}\"", letter);
    return fmt::format("\"{}\" * {}", letter, size);
  }
  int receive_size() { return in_.PickValueInArray(kReceiveSizes); }
  // Each flag is set one time in four, and none once the input has run out (when
  // FuzzedDataProvider answers the smallest value).
  std::string send_flags() {
    std::string flags;
    for (const char* flag : {"MSG_DONTWAIT", "MSG_NOSIGNAL", "MSG_EOR", "MSG_OOB", "MSG_MORE"})
      if (in_.ConsumeIntegralInRange(0, 3) == 3)
        flags += (flags.empty() ? "" : "|") + std::string(flag);
    return flags.empty() ? "0" : flags;
  }
  std::string receive_flags() {
    std::string flags = "MSG_DONTWAIT";
    for (const char* flag : {"MSG_PEEK", "MSG_TRUNC", "MSG_WAITALL", "MSG_OOB"})
      if (in_.ConsumeIntegralInRange(0, 3) == 3) flags += "|" + std::string(flag);
    return flags;
  }

  FuzzedDataProvider& in_;
  std::array<Actor, 2> actors_ = {Actor{"a"}, Actor{"b"}};
  std::string_view type_;
  CallProgram program_;
};

}  // namespace

std::string CallProgram::text() const {
  std::string out;
  for (const auto& line : header) out += line + "\n";
  for (const auto& line : lines) out += line + "\n";
  return out;
}

CallProgram decode_call_program(FuzzedDataProvider& input, int max_calls) {
  return ProgramWriter(input).write(max_calls);
}

}  // namespace sockspec::fuzz
