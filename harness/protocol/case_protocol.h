// The contract between the runner and a case process, whatever wrote the case (GoogleTest or
// a script) and wherever it runs (natively, or inside a target's wrapper).
//
//   runner ── request ──► case server (one per worker, exec'd once)
//                           └─ fork ─► case process: enters the case (case_entry.h), runs it,
//                                      writes one ResultRecord to request.result_file
//   runner ◄── started / ended ── case server
//
// A traced re-run execs one case process under strace instead (`--sockspec-case FILE`, the
// request in a file); it writes the same record. The runner reads only the record and the
// exit status: no case output is parsed.
#pragma once

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "os/exit_status.h"

namespace sockspec::protocol {

// The environment of a case process. The runner sets these; the harness reads them.
inline constexpr const char* kCaseDirVariable = "SOCKSPEC_CASE_DIR";  // its private dir (cwd)
// The case's own budget for its bounded waits: the runner's deadline minus a margin, so that
// the harness can say what it was waiting for before the runner kills the case.
inline constexpr const char* kCaseTimeoutVariable = "SOCKSPEC_CASE_TIMEOUT_MS";
// Where a case writes the traces it makes itself (a peer with an injected fault).
inline constexpr const char* kTraceDirVariable = "SOCKSPEC_TRACE_DIR";
// Where a model-based case writes the scripted case that reproduces its failure.
inline constexpr const char* kCounterexampleDirVariable = "SOCKSPEC_COUNTEREXAMPLE_DIR";
// How a scripted case starts its actors: the words of a command, one a line (a target's
// wrapper, then the actor program); unset: sockspec-actor beside the case program.
inline constexpr const char* kActorVariable = "SOCKSPEC_ACTOR";
// A fault of `sockspec faults` that strace cannot make alone (runner/googletest_faults.h),
// which the case process makes on itself as its case starts:
//   "restart" / "interrupt": a handler for kFaultSignal, with and without SA_RESTART, so
//   that the signal strace raises at a call interrupts it instead of being ignored;
inline constexpr const char* kFaultSignalVariable = "SOCKSPEC_FAULT_SIGNAL_HANDLER";
//   "N": RLIMIT_NOFILE set so that exactly N more fds can be opened.
inline constexpr const char* kFaultRoomVariable = "SOCKSPEC_FAULT_FD_ROOM";
// SIGWINCH: no case uses it, and a process that does not catch it ignores it, so a program
// the case execs is not killed by it.
inline constexpr int kFaultSignal = SIGWINCH;
inline constexpr const char* kFaultSignalName = "SIGWINCH";
// Every variable of the contract starts so; a case process gets none from elsewhere.
inline constexpr const char* kVariablePrefix = "SOCKSPEC_";

// The value of a contract variable in this process, or "" when it is not set.
std::string variable(const char* name);

// GoogleTest test properties (Test::RecordProperty) by which a case adds to its record.
inline constexpr const char* kReproduceProperty = "sockspec.reproduce";  // rapidcheck's string
inline constexpr const char* kTracePropertyPrefix = "sockspec.trace.";   // + what it traced
// How many tests a slow property ran: "100", or "37 of 100: the time budget ran out".
inline constexpr const char* kTestsProperty = "sockspec.tests";

enum class CaseKind { kGoogleTest, kScript };

// One case for a case server (or a one-shot case process) to run.
struct CaseRequest {
  std::uint64_t id = 0;  // echoed in the server's replies
  CaseKind kind = CaseKind::kGoogleTest;
  std::string name;         // the GoogleTest full name, or the scripted case's name
  std::string script;       // a scripted case: the path of its file
  std::string work_dir;     // the case's private dir: its cwd and SOCKSPEC_CASE_DIR
  std::string result_file;  // where the ResultRecord goes
  std::string output_file;  // stdout and stderr of every process of the case
  // Variables set on top of the server's environment ("NAME=value"): SOCKSPEC_*, RC_PARAMS.
  std::vector<std::string> env;
  // The work dir is its worker's, used by every case that worker serves: the server empties
  // it once the case's processes are gone (from inside the target, whose view of the files
  // may be its own: gVisor caches the directory).
  bool reused_work_dir = false;
  // A served case makes a session of its own. A one-shot case process stays in the session
  // its launcher made (strace leads it in a traced run, and must be found there).
  bool own_session = true;
};

enum class Verdict { kPassed, kFailed, kSkipped };

// What a case process says of its case: the only result the runner reads.
struct ResultRecord {
  Verdict verdict = Verdict::kFailed;
  std::string message;      // the failures ("file:line\nmessage" each), or a script's mismatches
  std::string skip_reason;  // why a skipped case could not run here
  std::string reproduce;    // a failed property: rapidcheck's reproduce string
  std::string tests;        // a property: how many tests it ran (kTestsProperty)
  std::vector<std::string> traces;  // traces the case wrote itself (in SOCKSPEC_TRACE_DIR)
};

std::string to_json(const CaseRequest& request);
CaseRequest request_from_json(const std::string& text);  // std::runtime_error when malformed

bool write_record(const std::string& path, const ResultRecord& record);
// nullopt when the file is missing or not a record (the case process died before writing).
std::optional<ResultRecord> read_record(const std::string& path);

// The case server's conversation, one JSON object a line on its stdin and stdout.
//   runner -> server  {"run": REQUEST}             start a case
//                     {"kill": ID, "describe": B}  end it now; B: say what each process was doing
//   server -> runner  {"started": ID, "pid": P, "server": S}   pids as the server sees them
//                     {"ended": ID, "exit": {...}, "processes": TEXT}
struct ServerRequest {
  enum class Kind { kRun, kKill } kind = Kind::kRun;
  CaseRequest run;        // kRun
  std::uint64_t id = 0;   // kKill
  bool describe = false;  // kKill
};
struct ServerReply {
  enum class Kind { kStarted, kEnded } kind = Kind::kStarted;
  std::uint64_t id = 0;
  long pid = 0;           // started: the case's first process
  long server_pid = 0;    // started: the server itself
  ExitStatus exit;        // ended: how the case's first process ended
  std::string processes;  // ended after a kill with describe: one line per process
};
std::string run_message(const CaseRequest& request);
std::string kill_message(std::uint64_t id, bool describe);
std::string started_message(std::uint64_t id, long pid, long server_pid);
std::string ended_message(std::uint64_t id, const ExitStatus& exit, const std::string& processes);
ServerRequest server_request_from_json(const std::string& line);  // std::runtime_error
ServerReply reply_from_json(const std::string& line);             // std::runtime_error

}  // namespace sockspec::protocol
