import Foundation
import SignalboxTestSupport
import Testing

/// `signalbox serve --mqtt` against a real Mosquitto: telemetry published with `mosquitto_pub` is
/// journaled, evaluated and persisted, once per message, in both protocol versions.
@Suite("serve --mqtt", .serialized)
struct MQTTServeTests {
    static let rules = CLI.packageRoot.appendingPathComponent("Benchmarks/Fixtures/one-rule-persist.yaml").path

    @Test(arguments: [("5", "mqttv5"), ("3.1.1", "mqttv311")])
    func telemetryFromTheBrokerIsPersistedOnce(_ version: (signalbox: String, tool: String)) async throws {
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data,
            extraArguments: [
                "--rules", Self.rules, "--mqtt", "mqtt://127.0.0.1:\(broker.port)", "--mqtt-version", version.signalbox,
                "--mqtt-client-id", "signalbox-\(version.tool)",
            ])
        defer { server.stop() }
        // The subscription is in place once a probe message comes through.
        let probe = #"{"probe":true}"#
        #expect(
            try await waitUntil(seconds: 20) {
                try await offPool {
                    try broker.run(
                        "mosquitto_pub",
                        ["-V", version.tool, "-q", "1", "-t", "gateways/gw1/devices/probe/telemetry", "-m", probe])
                }
                try await Task.sleep(for: .milliseconds(100))
                return try await server.records("records", token: admin.token).count > 0
            })
        let lines = (1...500).map { #"{"n":\#($0),"temp":4.5}"# }
        try await offPool {
            try broker.run(
                "mosquitto_pub", ["-V", version.tool, "-q", "1", "-t", "gateways/gw1/devices/f1/telemetry", "-l"],
                input: lines.joined(separator: "\n") + "\n")
        }
        #expect(
            try await waitUntil(seconds: 30) {
                try await server.records("records", token: admin.token).filter {
                    ($0["topic"] as? String)?.hasSuffix("/f1/telemetry") == true
                }.count >= 500
            })
        let stored = try await server.records("records", token: admin.token)
            .filter { ($0["topic"] as? String) == "gateways/gw1/devices/f1/telemetry" }
            .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
        #expect(stored.count == 500)
        #expect(stored.sorted() == Array(1...500))
        // The connection and the messages show in /metrics (gauges refresh every second).
        #expect(
            try await waitUntil(seconds: 10) {
                let metrics = try await server.request("GET", "/metrics", token: admin.token).body
                return metrics.contains("signalbox_mqtt_connected 1")
                    && metrics.contains("signalbox_mqtt_connections_total 1")
                    && metrics.contains(#"signalbox_mqtt_in_flight{direction="in"} 0"#)
                    && metrics.contains(#"signalbox_ingest_messages_total{transport="mqtt"}"#)
            })
    }

    static func rulesFile(filters: [String]) -> String {
        var text = "version: 1\nrules:\n"
        for (index, filter) in filters.enumerated() {
            text += """
                  - name: keep-\(index)
                    sql: SELECT * FROM '\(filter)'
                    actions:
                      - function: persist
                        with: { table: records }

                """
        }
        return text
    }

    @Test func aReloadThatChangesFromFiltersChangesTheSubscriptions() async throws {
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rules = data.appendingPathComponent("rules.yaml")
        try Self.rulesFile(filters: ["plant-a/+/telemetry"]).write(to: rules, atomically: true, encoding: .utf8)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data,
            extraArguments: ["--rules", rules.path, "--mqtt", "mqtt://127.0.0.1:\(broker.port)"])
        defer { server.stop() }
        func publish(_ topic: String, _ count: Int, from first: Int = 1) async throws {
            let lines = (first..<(first + count)).map { #"{"n":\#($0)}"# }
            try await offPool {
                try broker.run(
                    "mosquitto_pub", ["-q", "1", "-t", topic, "-l"], input: lines.joined(separator: "\n") + "\n")
            }
        }
        func stored(_ topic: String) async throws -> [Int] {
            try await server.records("records", token: admin.token)
                .filter { ($0["topic"] as? String) == topic }
                .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }.sorted()
        }
        func brokerLog() throws -> String {
            try String(contentsOfFile: broker.directory + "/mosquitto.log", encoding: .utf8)
        }
        #expect(try await waitUntil(seconds: 20) { try brokerLog().contains("signalbox 1 plant-a/+/telemetry") })
        try await publish("plant-a/1/telemetry", 100)

        // Add a filter: plant-a's subscription stays, plant-b's is added.
        try Self.rulesFile(filters: ["plant-a/+/telemetry", "plant-b/+/telemetry"])
            .write(to: rules, atomically: true, encoding: .utf8)
        #expect(try await server.json("POST", "/admin/rules/reload", token: admin.token).status == 200)
        #expect(try await waitUntil(seconds: 20) { try brokerLog().contains("signalbox 1 plant-b/+/telemetry") })
        try await publish("plant-a/1/telemetry", 100, from: 101)
        try await publish("plant-b/1/telemetry", 50)

        // Drop plant-a: unsubscribed at the broker; plant-b keeps flowing.
        try Self.rulesFile(filters: ["plant-b/+/telemetry"]).write(to: rules, atomically: true, encoding: .utf8)
        #expect(try await server.json("POST", "/admin/rules/reload", token: admin.token).status == 200)
        #expect(try await waitUntil(seconds: 20) { try brokerLog().contains("Received UNSUBSCRIBE from signalbox") })
        try await publish("plant-b/1/telemetry", 50, from: 51)

        #expect(try await waitUntil(seconds: 30) { try await stored("plant-b/1/telemetry").count >= 100 })
        #expect(try await stored("plant-a/1/telemetry") == Array(1...200))
        #expect(try await stored("plant-b/1/telemetry") == Array(1...100))
        // plant-a was subscribed once, never again, and left once; plant-b subscribed once.
        let log = try brokerLog()
        #expect(log.components(separatedBy: "signalbox 1 plant-a/+/telemetry").count == 2)
        #expect(log.components(separatedBy: "signalbox 1 plant-b/+/telemetry").count == 2)
        #expect(log.components(separatedBy: "Received UNSUBSCRIBE from signalbox").count == 2)
    }

    @Test(arguments: ["5", "3.1.1"])
    func telemetryFromPahoIsPersistedOnce(_ version: String) async throws {
        let venv = try await CLI.runProgramAsync(
            "/bin/sh", [CLI.packageRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(venv.status == 0, "creating the Python venv failed: \(venv.stderr)")
        let python = venv.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data,
            extraArguments: [
                "--rules", Self.rules, "--mqtt", "mqtt://127.0.0.1:\(broker.port)", "--mqtt-version", version,
            ])
        defer { server.stop() }
        let log = broker.directory + "/mosquitto.log"
        #expect(
            try await waitUntil(seconds: 20) {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains(
                    "signalbox 1 gateways/+/devices/+/telemetry")
                    == true
            })
        let topic = "gateways/gw1/devices/paho-\(version)/telemetry"
        let outcome = try await CLI.runProgramAsync(
            python, [CLI.packageRoot.appendingPathComponent("Tests/Integration/paho_publish.py").path],
            environment: [
                "MQTT_PORT": "\(broker.port)", "MQTT_VERSION": version, "MQTT_TOPIC": topic, "MQTT_COUNT": "300",
            ])
        #expect(outcome.status == 0, "paho_publish.py failed: \(outcome.stderr)")
        func stored() async throws -> [Int] {
            try await server.records("records", token: admin.token)
                .filter { ($0["topic"] as? String) == topic }
                .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }.sorted()
        }
        #expect(try await waitUntil(seconds: 30) { try await stored().count >= 300 })
        #expect(try await stored() == Array(1...300))
    }

    @Test func shadowRequestsOverMQTTAreAnsweredAsAWSDoes() async throws {
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", Self.rules, "--mqtt", "mqtt://127.0.0.1:\(broker.port)"])
        defer { server.stop() }
        let requestFilters = ["update", "get", "delete"].flatMap {
            ["$aws/things/+/shadow/\($0)", "$aws/things/+/shadow/name/+/\($0)"]
        }
        let log = broker.directory + "/mosquitto.log"
        #expect(
            try await waitUntil(seconds: 20) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return requestFilters.allSatisfy { text.contains("signalbox 1 \($0)") }
            })
        func run(_ tool: String, _ arguments: [String]) async throws -> String {
            try await offPool { try broker.run(tool, arguments) }
        }
        // A device's view: a persistent session on the replies and events of its shadows, collected at
        // the end.
        let prefix = "$aws/things/fridge-1/shadow/"
        let watched = ["+/accepted", "+/rejected", "update/delta", "update/documents", "name/+/+/rejected"]
            .flatMap { ["-t", prefix + $0] }
        _ = try await run("mosquitto_sub", ["-c", "-i", "device", "-q", "1", "-E"] + watched)
        _ = try await run("mosquitto_pub", ["-q", "1", "-t", prefix + "get", "-m", #"{"clientToken":"t1"}"#])
        _ = try await run(
            "mosquitto_pub",
            ["-q", "1", "-t", prefix + "update", "-m", #"{"state":{"desired":{"maxTemp":5}},"clientToken":"t2"}"#])
        #expect(
            try await waitUntil(seconds: 10) {
                try await server.request("GET", "/things/fridge-1/shadow", token: admin.token).status == 200
            })
        // A change over HTTP reaches MQTT subscribers too.
        #expect(
            try await server.request(
                "POST", "/things/fridge-1/shadow", token: admin.token, body: #"{"state":{"reported":{"maxTemp":5}}}"#
            ).status == 200)
        _ = try await run(
            "mosquitto_pub", ["-q", "1", "-t", prefix + "name/door/delete", "-m", #"{"clientToken":"t3"}"#])
        let seen = try await run(
            "mosquitto_sub", ["-c", "-i", "device", "-q", "1", "-C", "6", "-W", "10", "-v"] + watched)
        var replies: [(topic: String, body: [String: Any])] = []
        for line in seen.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let body = try JSONSerialization.jsonObject(with: Data(line[line.index(after: space)...].utf8))
            replies.append((String(line[..<space]), body as? [String: Any] ?? [:]))
        }
        // In the order Signalbox answered: the events of an update come with its reply.
        #expect(
            Set(replies.prefix(1).map(\.topic)) == [prefix + "get/rejected"]
                && Set(replies.dropFirst().prefix(3).map(\.topic))
                    == Set(
                        ["update/delta", "update/documents", "update/accepted"].map { prefix + $0 })
                && replies.dropFirst(4).map(\.topic) == [
                    prefix + "update/documents", prefix + "name/door/delete/rejected",
                ],
            "\(replies.map(\.topic))")
        func reply(_ suffix: String) -> [String: Any] { replies.first { $0.topic == prefix + suffix }?.body ?? [:] }
        #expect(reply("get/rejected")["code"] as? Int == 404)
        #expect(reply("get/rejected")["clientToken"] as? String == "t1")
        #expect(reply("update/accepted")["clientToken"] as? String == "t2")
        #expect(reply("update/accepted")["version"] as? Int == 1)
        #expect(reply("update/delta")["version"] as? Int == 1)
        #expect(((reply("update/delta")["state"] as? [String: Any])?["maxTemp"]) as? Int == 5)
        let documents = replies.filter { $0.topic == prefix + "update/documents" }.map(\.body)
        #expect(documents.map { ($0["current"] as? [String: Any])?["version"] as? Int } == [1, 2])
        #expect(reply("name/door/delete/rejected")["code"] as? Int == 404)
        #expect(reply("name/door/delete/rejected")["clientToken"] as? String == "t3")
    }

    @Test func theAWSIoTDeviceSDKsDriveShadowsThroughTheBroker() async throws {
        let venv = try await CLI.runProgramAsync(
            "/bin/sh", [CLI.packageRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(venv.status == 0, "creating the Python venv failed: \(venv.stderr)")
        let python = venv.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", Self.rules, "--mqtt", "mqtt://127.0.0.1:\(broker.port)"])
        defer { server.stop() }
        let log = broker.directory + "/mosquitto.log"
        #expect(
            try await waitUntil(seconds: 20) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return text.contains("signalbox 1 $aws/things/+/shadow/name/+/delete")
            })
        for (script, thing) in [
            ("awsiotsdk_shadows.py", "fridge-sdk2"), ("awsiotpythonsdk_v1_shadow.py", "fridge-sdk1"),
        ] {
            let outcome = try await CLI.runProgramAsync(
                python, [CLI.packageRoot.appendingPathComponent("Tests/Integration/\(script)").path],
                environment: ["MQTT_PORT": "\(broker.port)", "THING": thing])
            #expect(outcome.status == 0, "\(script) failed: \(outcome.stdout)\(outcome.stderr)")
        }
    }

    @Test func everyMessageTheBrokerAcknowledgedIsProcessedAcrossABrokerRestart() async throws {
        let venv = try await CLI.runProgramAsync(
            "/bin/sh", [CLI.packageRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(venv.status == 0, "creating the Python venv failed: \(venv.stderr)")
        let python = venv.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", Self.rules, "--mqtt", "mqtt://127.0.0.1:\(broker.port)"])
        defer { server.stop() }
        let log = broker.directory + "/mosquitto.log"
        #expect(
            try await waitUntil(seconds: 20) {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains(
                    "signalbox 1 gateways/+/devices/+/telemetry")
                    == true
            })
        let topic = "gateways/gw1/devices/steady/telemetry"
        let ackedFile = data.appendingPathComponent("acked.txt").path
        // 3,000 messages at 1,000/s; the broker is stopped (saving its sessions) and started again
        // one second in.
        async let publisher = CLI.runProgramAsync(
            python, [CLI.packageRoot.appendingPathComponent("Tests/Integration/paho_steady_publisher.py").path],
            environment: [
                "MQTT_PORT": "\(broker.port)", "MQTT_TOPIC": topic, "MQTT_COUNT": "3000", "MQTT_RATE": "1000",
                "ACKED_FILE": ackedFile,
            ])
        try await Task.sleep(for: .seconds(1))
        try await offPool { try broker.restart() }
        let outcome = try await publisher
        #expect(outcome.status == 0, "paho_steady_publisher.py: \(outcome.stdout)\(outcome.stderr)")
        let acked = Set(
            try String(contentsOfFile: ackedFile, encoding: .utf8).split(separator: "\n").compactMap { Int($0) })
        #expect(acked.count == 3000)
        func stored() async throws -> Set<Int> {
            Set(
                try await server.records("records", token: admin.token)
                    .filter { ($0["topic"] as? String) == topic }
                    .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int })
        }
        #expect(try await waitUntil(seconds: 30) { try await stored().isSuperset(of: acked) })
        #expect(try await stored().isSuperset(of: acked))
    }
}
