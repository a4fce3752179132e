#include "protocol/case_protocol.h"

#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "os/files.h"

namespace sockspec::protocol {

namespace {

using nlohmann::json;

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kPassed:
      return "passed";
    case Verdict::kFailed:
      return "failed";
    case Verdict::kSkipped:
      return "skipped";
  }
  return "failed";
}

Verdict verdict_from(const std::string& name) {
  if (name == "passed") return Verdict::kPassed;
  if (name == "skipped") return Verdict::kSkipped;
  return Verdict::kFailed;
}

json request_json(const CaseRequest& r) {
  return {{"id", r.id},
          {"kind", r.kind == CaseKind::kScript ? "script" : "gtest"},
          {"name", r.name},
          {"script", r.script},
          {"work_dir", r.work_dir},
          {"result_file", r.result_file},
          {"output_file", r.output_file},
          {"env", r.env},
          {"own_session", r.own_session},
          {"reused_work_dir", r.reused_work_dir}};
}

CaseRequest request_from(const json& j) {
  CaseRequest r;
  r.id = j.at("id").get<std::uint64_t>();
  r.kind = j.at("kind").get<std::string>() == "script" ? CaseKind::kScript : CaseKind::kGoogleTest;
  r.name = j.at("name").get<std::string>();
  r.script = j.value("script", "");
  r.work_dir = j.at("work_dir").get<std::string>();
  r.result_file = j.at("result_file").get<std::string>();
  r.output_file = j.at("output_file").get<std::string>();
  r.env = j.value("env", std::vector<std::string>{});
  r.own_session = j.value("own_session", true);
  r.reused_work_dir = j.value("reused_work_dir", false);
  return r;
}

json exit_json(const ExitStatus& e) {
  return {{"exited", e.exited}, {"code", e.code}, {"signal", e.signal}};
}

}  // namespace

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string to_json(const CaseRequest& request) {
  return request_json(request).dump();
}

CaseRequest request_from_json(const std::string& text) {
  try {
    return request_from(json::parse(text));
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("malformed case request: ") + e.what());
  }
}

bool write_record(const std::string& path, const ResultRecord& record) {
  const json j = {{"verdict", verdict_name(record.verdict)},
                  {"message", record.message},
                  {"skip_reason", record.skip_reason},
                  {"reproduce", record.reproduce},
                  {"tests", record.tests},
                  {"traces", record.traces}};
  return write_file(path, j.dump() + "\n");
}

std::optional<ResultRecord> read_record(const std::string& path) {
  const std::string text = read_file(path);
  if (text.empty()) return std::nullopt;
  try {
    const json j = json::parse(text);
    ResultRecord r;
    r.verdict = verdict_from(j.at("verdict").get<std::string>());
    r.message = j.value("message", "");
    r.skip_reason = j.value("skip_reason", "");
    r.reproduce = j.value("reproduce", "");
    r.tests = j.value("tests", "");
    r.traces = j.value("traces", std::vector<std::string>{});
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string run_message(const CaseRequest& request) {
  return json{{"run", request_json(request)}}.dump() + "\n";
}

std::string kill_message(std::uint64_t id, bool describe) {
  return json{{"kill", id}, {"describe", describe}}.dump() + "\n";
}

std::string started_message(std::uint64_t id, long pid, long server_pid) {
  return json{{"started", id}, {"pid", pid}, {"server", server_pid}}.dump() + "\n";
}

std::string ended_message(std::uint64_t id, const ExitStatus& exit, const std::string& processes) {
  return json{{"ended", id}, {"exit", exit_json(exit)}, {"processes", processes}}.dump() + "\n";
}

ServerRequest server_request_from_json(const std::string& line) {
  try {
    const json j = json::parse(line);
    ServerRequest request;
    if (j.contains("run")) {
      request.kind = ServerRequest::Kind::kRun;
      request.run = request_from(j["run"]);
    } else {
      request.kind = ServerRequest::Kind::kKill;
      request.id = j.at("kill").get<std::uint64_t>();
      request.describe = j.value("describe", false);
    }
    return request;
  } catch (const json::exception& e) {
    throw std::runtime_error("malformed request to the case server: " + line);
  }
}

ServerReply reply_from_json(const std::string& line) {
  try {
    const json j = json::parse(line);
    ServerReply reply;
    if (j.contains("started")) {
      reply.kind = ServerReply::Kind::kStarted;
      reply.id = j["started"].get<std::uint64_t>();
      reply.pid = j.at("pid").get<long>();
      reply.server_pid = j.value("server", 0L);
    } else {
      reply.kind = ServerReply::Kind::kEnded;
      reply.id = j.at("ended").get<std::uint64_t>();
      const json& e = j.at("exit");
      reply.exit = {e.at("exited").get<bool>(), e.at("code").get<int>(), e.at("signal").get<int>()};
      reply.processes = j.value("processes", "");
    }
    return reply;
  } catch (const json::exception& e) {
    throw std::runtime_error("the case server said something that is not a reply: " + line);
  }
}

}  // namespace sockspec::protocol
