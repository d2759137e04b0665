import Foundation
import SignalboxStore
import SignalboxTestSupport
import Testing

/// `signalbox serve --mqtt` against a real Mosquitto: telemetry published with `mosquitto_pub` is
/// journaled, evaluated and persisted, once per message, in both protocol versions.
@Suite("serve --mqtt", .serialized)
struct MQTTServeTests {
    static let rules = CLI.packageRoot.appendingPathComponent("Benchmarks/Fixtures/one-rule-persist.yaml").path

    @Test(arguments: [("5", "mqttv5"), ("3.1.1", "mqttv311")])
    func telemetryFromTheBrokerIsPersistedOnce(_ version: (signalbox: String, tool: String)) async throws {
        let deployment = try await MQTTDeployment.start([
            "--rules", Self.rules, "--mqtt-version", version.signalbox, "--mqtt-client-id", "signalbox-\(version.tool)",
        ])
        let (server, admin) = (deployment.server, deployment.admin)
        // The subscription is in place once a probe message comes through.
        let probe = #"{"probe":true}"#
        #expect(
            try await waitUntil(seconds: 20) {
                try await deployment.run(
                    "mosquitto_pub",
                    ["-V", version.tool, "-q", "1", "-t", "gateways/gw1/devices/probe/telemetry", "-m", probe])
                try await Task.sleep(for: .milliseconds(100))
                return try await server.records("records", token: admin.token).count > 0
            })
        let lines = (1...500).map { #"{"n":\#($0),"temp":4.5}"# }
        try await deployment.run(
            "mosquitto_pub", ["-V", version.tool, "-q", "1", "-t", "gateways/gw1/devices/f1/telemetry", "-l"],
            input: lines.joined(separator: "\n") + "\n")
        let topic = "gateways/gw1/devices/f1/telemetry"
        #expect(try await waitUntil(seconds: 30) { try await deployment.stored(topic).count >= 500 })
        let stored = try await deployment.stored(topic)
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
                    && Self.metric(#"signalbox_mqtt_messages_total{direction="in"}"#, in: metrics) ?? 0 > 500
            })
    }

    /// The value of the sample named `name` (with its labels) in a Prometheus text exposition.
    static func metric(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
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
        let deployment = try await MQTTDeployment.start { data in
            let rules = data.appendingPathComponent("rules.yaml")
            try Self.rulesFile(filters: ["plant-a/+/telemetry"]).write(to: rules, atomically: true, encoding: .utf8)
            return ["--rules", rules.path]
        }
        let rules = deployment.data.appendingPathComponent("rules.yaml")
        let (server, admin) = (deployment.server, deployment.admin)
        func publish(_ topic: String, _ count: Int, from first: Int = 1) async throws {
            let lines = (first..<(first + count)).map { #"{"n":\#($0)}"# }
            try await deployment.run(
                "mosquitto_pub", ["-q", "1", "-t", topic, "-l"], input: lines.joined(separator: "\n") + "\n")
        }
        func stored(_ topic: String) async throws -> [Int] { try await deployment.stored(topic).sorted() }
        #expect(await deployment.waitForSubscriptions(["plant-a/+/telemetry"]))
        try await publish("plant-a/1/telemetry", 100)

        // Add a filter: plant-a's subscription stays, plant-b's is added.
        try Self.rulesFile(filters: ["plant-a/+/telemetry", "plant-b/+/telemetry"])
            .write(to: rules, atomically: true, encoding: .utf8)
        #expect(try await server.json("POST", "/admin/rules/reload", token: admin.token).status == 200)
        #expect(await deployment.waitForSubscriptions(["plant-b/+/telemetry"]))
        try await publish("plant-a/1/telemetry", 100, from: 101)
        try await publish("plant-b/1/telemetry", 50)

        // Drop plant-a: unsubscribed at the broker; plant-b keeps flowing.
        try Self.rulesFile(filters: ["plant-b/+/telemetry"]).write(to: rules, atomically: true, encoding: .utf8)
        #expect(try await server.json("POST", "/admin/rules/reload", token: admin.token).status == 200)
        #expect(
            await waitUntil(seconds: 20) { deployment.brokerLog().contains("Received UNSUBSCRIBE from signalbox") })
        try await publish("plant-b/1/telemetry", 50, from: 51)

        #expect(try await waitUntil(seconds: 30) { try await stored("plant-b/1/telemetry").count >= 100 })
        #expect(try await stored("plant-a/1/telemetry") == Array(1...200))
        #expect(try await stored("plant-b/1/telemetry") == Array(1...100))
        // plant-a was subscribed once, never again, and left once; plant-b subscribed once.
        let log = deployment.brokerLog()
        #expect(log.components(separatedBy: "signalbox 1 plant-a/+/telemetry").count == 2)
        #expect(log.components(separatedBy: "signalbox 1 plant-b/+/telemetry").count == 2)
        #expect(log.components(separatedBy: "Received UNSUBSCRIBE from signalbox").count == 2)
    }

    static let telemetryFilter = "gateways/+/devices/+/telemetry"
    static let shadowRequestFilters = ["update", "get", "delete"].flatMap {
        ["$aws/things/+/shadow/\($0)", "$aws/things/+/shadow/name/+/\($0)"]
    }

    @Test(arguments: ["5", "3.1.1"])
    func telemetryFromPahoIsPersistedOnce(_ version: String) async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules, "--mqtt-version", version])
        #expect(await deployment.waitForSubscriptions([Self.telemetryFilter]))
        // The device level is a thing name ([a-zA-Z0-9:_-]), as every device a gateway publishes for is.
        let topic = "gateways/gw1/devices/paho-\(version.replacing(".", with: "_"))/telemetry"
        let outcome = try await MQTTDeployment.runScript(
            "paho_publish.py",
            environment: [
                "MQTT_PORT": "\(deployment.broker.port)", "MQTT_VERSION": version, "MQTT_TOPIC": topic,
                "MQTT_COUNT": "300",
            ])
        #expect(outcome.status == 0, "paho_publish.py failed: \(outcome.stderr)")
        #expect(try await waitUntil(seconds: 30) { try await deployment.stored(topic).count >= 300 })
        #expect(try await deployment.stored(topic).sorted() == Array(1...300))
    }

    @Test func shadowRequestsOverMQTTAreAnsweredAsAWSDoes() async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules])
        let (server, admin) = (deployment.server, deployment.admin)
        #expect(await deployment.waitForSubscriptions(Self.shadowRequestFilters))
        func run(_ tool: String, _ arguments: [String]) async throws -> String {
            try await deployment.run(tool, arguments)
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
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules])
        #expect(await deployment.waitForSubscriptions(Self.shadowRequestFilters))
        for (script, thing) in [
            ("awsiotsdk_shadows.py", "fridge-sdk2"), ("awsiotpythonsdk_v1_shadow.py", "fridge-sdk1"),
        ] {
            let outcome = try await MQTTDeployment.runScript(
                script, environment: ["MQTT_PORT": "\(deployment.broker.port)", "THING": thing])
            #expect(outcome.status == 0, "\(script) failed: \(outcome.stdout)\(outcome.stderr)")
        }
    }

    @Test func everyMessageTheBrokerAcknowledgedIsProcessedAcrossABrokerRestart() async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules])
        #expect(await deployment.waitForSubscriptions([Self.telemetryFilter]))
        let topic = "gateways/gw1/devices/steady/telemetry"
        // 3,000 messages at 1,000/s; the broker is stopped (saving its sessions) and started again
        // one second in.
        let python = try await MQTTDeployment.python()
        async let publisher = deployment.publishSteadily(topic: topic, count: 3_000, rate: 1_000, python: python)
        try await Task.sleep(for: .seconds(1))
        try await offPool { try deployment.broker.restart() }
        let acked = try await publisher
        #expect(acked.count == 3000)
        #expect(try await waitUntil(seconds: 30) { Set(try await deployment.stored(topic)).isSuperset(of: acked) })
        #expect(Set(try await deployment.stored(topic)).isSuperset(of: acked))
    }

    static let republishRules = """
        version: 1
        rules:
          - name: too-warm
            sql: SELECT n, temp FROM 'gateways/+/devices/+/telemetry' WHERE temp > 8
            actions:
              - function: republish
                with: { topic: "alerts/${topic(4)}/too-warm" }
          - name: keep-alerts
            sql: SELECT * FROM 'alerts/+/too-warm'
            actions:
              - function: persist
                with: { table: records }

        """

    @Test(arguments: [("5", false), ("3.1.1", false), ("5", true), ("3.1.1", true)])
    func republishedMessagesGoThroughTheBroker(_ setup: (version: String, tls: Bool)) async throws {
        let deployment = try await MQTTDeployment.start(["--mqtt-version", setup.version], tls: setup.tls) { data in
            let rules = data.appendingPathComponent("rules.yaml")
            try Self.republishRules.write(to: rules, atomically: true, encoding: .utf8)
            return ["--rules", rules.path]
        }
        #expect(await deployment.waitForSubscriptions([Self.telemetryFilter, "alerts/+/too-warm"]))
        // 200 readings, every odd one too warm: paho publishes them and, with mosquitto_sub, watches
        // the 100 alerts Signalbox republishes through the broker.
        let tool = setup.version == "5" ? "mqttv5" : "mqttv311"
        // mosquitto_sub's persistent session is in place before anything is published; it collects later.
        let watcher = ["-V", tool, "-c", "-i", "alerts-watcher", "-q", "1", "-t", "alerts/#"]
        try await deployment.run("mosquitto_sub", watcher + ["-E"])
        var environment = [
            "MQTT_PORT": "\(deployment.broker.port)", "MQTT_VERSION": setup.version,
            "MQTT_TOPIC": "gateways/gw1/devices/f7/telemetry", "MQTT_WATCH": "alerts/#", "MQTT_COUNT": "200",
            "MQTT_EXPECT": "100",
        ]
        if let certificates = deployment.certificates { environment["MQTT_CAFILE"] = certificates.caFile }
        let paho = try await MQTTDeployment.runScript("paho_republish.py", environment: environment)
        #expect(paho.status == 0, "paho_republish.py: \(paho.stderr)")
        let odd = Array(stride(from: 1, through: 199, by: 2))
        #expect(paho.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(odd)")
        let lines = try await deployment.run("mosquitto_sub", watcher + ["-C", "100", "-W", "40", "-v"])
            .split(separator: "\n")
        #expect(lines.count == 100)
        #expect(lines.allSatisfy { $0.hasPrefix("alerts/f7/too-warm {") })
        // The alerts come back from the broker to the rule that keeps them: once each.
        let topic = "alerts/f7/too-warm"
        #expect(try await waitUntil(seconds: 30) { try await deployment.stored(topic).count >= 100 })
        try await Task.sleep(for: .seconds(1))
        #expect(try await deployment.stored(topic).sorted() == odd)
        // 100 republished, counted once the gauges refresh.
        #expect(
            try await waitUntil(seconds: 10) {
                let metrics = try await deployment.server.request("GET", "/metrics", token: deployment.admin.token).body
                return Self.metric(#"signalbox_mqtt_messages_total{direction="out"}"#, in: metrics) == 100
            })
    }

    @Test func desiredStateChangesStreamToEachGatewayThroughTheBroker() async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules]) { data in
            for command in [
                ["gateways", "add", "gw-01"], ["gateways", "bind", "gw-01", "fridge-7", "fridge-8"],
                ["gateways", "add", "gw-02"], ["gateways", "bind", "gw-02", "pump-1"],
            ] {
                let result = try CLI.run(command + ["--data", data.path])
                try #require(result.status == 0, "\(command): \(result.stderr)")
            }
            return []
        }
        let admin = deployment.admin
        #expect(await deployment.waitForSubscriptions(Self.shadowRequestFilters))
        // Each gateway's persistent session on its stream.
        func stream(_ gateway: String) -> [String] {
            ["-c", "-i", "\(gateway)-sync", "-q", "1", "-t", "$signalbox/gateways/\(gateway)/sync"]
        }
        for gateway in ["gw-01", "gw-02"] { try await deployment.run("mosquitto_sub", stream(gateway) + ["-E"]) }
        /// The next message on `gateway`'s stream: its changes by thing (and shadow name), and its cursor.
        func next(_ gateway: String) async throws -> (changes: [String: [String: Any]], cursor: Int) {
            let text = try await deployment.run("mosquitto_sub", stream(gateway) + ["-C", "1", "-W", "15"])
            let message = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            #expect(message["more"] as? Bool == false)
            var changes: [String: [String: Any]] = [:]
            for change in message["changes"] as? [[String: Any]] ?? [] {
                let name = (change["shadow"] as? String).map { ":\($0)" } ?? ""
                changes["\(change["thing"] as? String ?? "?")\(name)"] = change
            }
            return (changes, message["cursor"] as? Int ?? -1)
        }
        func update(_ thing: String, _ body: String) async throws {
            let reply = try await deployment.server.request(
                "POST", "/things/\(thing)/shadow", token: admin.token, body: body)
            #expect(reply.status == 200)
        }

        try await update("fridge-7", #"{"state":{"desired":{"maxTemp":5}}}"#)
        let first = try await next("gw-01")
        #expect(Array(first.changes.keys) == ["fridge-7"])
        #expect((first.changes["fridge-7"]?["desired"] as? [String: Any])?["maxTemp"] as? Int == 5)
        #expect((first.changes["fridge-7"]?["delta"] as? [String: Any])?["maxTemp"] as? Int == 5)
        #expect(first.changes["fridge-7"]?["version"] as? Int == 1)

        // A reported-only update streams nothing; other gateways' devices and unbound things go
        // elsewhere or nowhere; a named shadow changed over MQTT streams like any other.
        try await update("fridge-7", #"{"state":{"reported":{"maxTemp":5}}}"#)
        try await update("pump-1", #"{"state":{"desired":{"speed":2}}}"#)
        try await update("unbound-9", #"{"state":{"desired":{"x":1}}}"#)
        try await deployment.run(
            "mosquitto_pub",
            [
                "-q", "1", "-t", "$aws/things/fridge-8/shadow/name/config/update", "-m",
                #"{"state":{"desired":{"door":"locked"}}}"#,
            ])
        let second = try await next("gw-01")
        #expect(Array(second.changes.keys) == ["fridge-8:config"])
        #expect(second.cursor > first.cursor)
        let pump = try await next("gw-02")
        #expect((pump.changes["pump-1"]?["desired"] as? [String: Any])?["speed"] as? Int == 2)

        // A change made while the broker is down, then Signalbox killed before it could publish it:
        // streamed once both are back.
        deployment.broker.stop()
        try await update("fridge-7", #"{"state":{"desired":{"maxTemp":3}}}"#)
        try await Task.sleep(for: .milliseconds(300))
        try await deployment.killAndRestartServer { try deployment.broker.start() }
        let third = try await next("gw-01")
        #expect(Array(third.changes.keys) == ["fridge-7"])
        #expect((third.changes["fridge-7"]?["desired"] as? [String: Any])?["maxTemp"] as? Int == 3)
        #expect(third.changes["fridge-7"]?["version"] as? Int == 3)
        #expect(third.cursor > second.cursor)
    }

    @Test(arguments: [
        (["--mqtt", "ftp://broker"], "--mqtt:"),
        (["--mqtt", "mqtt://broker", "--mqtt-version", "3"], "--mqtt-version must be 5 or 3.1.1"),
        (["--mqtt", "mqtt://broker", "--mqtt-cert", "c.pem"], "give both --mqtt-cert and --mqtt-key, or neither"),
        (["--mqtt", "mqtt://broker", "--mqtt-share-group", "a/b"], "--mqtt-share-group must be a non-empty name"),
    ])
    func badMQTTOptionsAreRefusedBeforeStarting(_ arguments: [String], _ message: String) async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await CLI.runAsync(["serve", "--data", data.path, "--port", "0"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func filtersAnEarlierRunSubscribedToAreUnsubscribedFromTheKeptSession() async throws {
        let deployment = try await MQTTDeployment.start { data in
            let rules = data.appendingPathComponent("rules.yaml")
            try Self.rulesFile(filters: ["old/+/telemetry"]).write(to: rules, atomically: true, encoding: .utf8)
            return ["--rules", rules.path]
        }
        #expect(await deployment.waitForSubscriptions(["old/+/telemetry"]))
        // Restarted with other rules (killed, so nothing is unsubscribed on the way out).
        try await deployment.killAndRestartServer {
            try Self.rulesFile(filters: ["new/+/telemetry"])
                .write(to: deployment.data.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        }
        #expect(await deployment.waitForSubscriptions(["new/+/telemetry"]))
        #expect(
            await waitUntil(seconds: 20) { deployment.brokerLog().contains("Received UNSUBSCRIBE from signalbox") })
        try await deployment.run("mosquitto_pub", ["-q", "1", "-t", "old/1/telemetry", "-m", #"{"n":1}"#])
        try await deployment.run("mosquitto_pub", ["-q", "1", "-t", "new/1/telemetry", "-m", #"{"n":2}"#])
        #expect(try await waitUntil(seconds: 20) { try await deployment.stored("new/1/telemetry") == [2] })
        #expect(try await deployment.stored("old/1/telemetry") == [])
    }

    @Test func receiptsOfASessionTheBrokerLostAreForgotten() async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules])
        #expect(await deployment.waitForSubscriptions([Self.telemetryFilter]))
        let topic = "gateways/gw1/devices/f1/telemetry"
        let lines = (1...20).map { #"{"n":\#($0)}"# }
        try await deployment.run(
            "mosquitto_pub", ["-q", "1", "-t", topic, "-l"], input: lines.joined(separator: "\n") + "\n")
        #expect(try await waitUntil(seconds: 20) { try await deployment.stored(topic).count == 20 })
        let journal = try SQLiteJournal(directory: deployment.data.path)
        defer { try? journal.close() }
        #expect(try await journal.brokerReceipts(session: "signalbox", limit: 100).count == 20)
        // The broker restarts without its saved sessions.
        deployment.broker.stop()
        try FileManager.default.removeItem(atPath: deployment.broker.directory + "/mosquitto.db")
        try deployment.broker.start()
        #expect(
            try await waitUntil(seconds: 20) {
                try await journal.brokerReceipts(session: "signalbox", limit: 100).isEmpty
            })
    }

    @Test func theBrokerURLCanComeFromTheEnvironment() async throws {
        let broker = try Broker()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", Self.rules, "--mqtt-client-id", "from-env"],
            environment: ["SIGNALBOX_MQTT": "mqtt://127.0.0.1:\(broker.port)"])
        defer { server.stop() }
        #expect(
            await waitUntil(seconds: 20) {
                let log = (try? String(contentsOfFile: broker.directory + "/mosquitto.log", encoding: .utf8)) ?? ""
                return log.contains("from-env 1 \(Self.telemetryFilter)")
            })
        // A bad one is refused like a bad --mqtt.
        let refused = try await CLI.runAsync(
            ["serve", "--data", data.path, "--port", "0"], environment: ["SIGNALBOX_MQTT": "ftp://broker"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("$SIGNALBOX_MQTT: the broker URL must start with mqtt:// or mqtts://"))
    }

    @Test func instancesInAShareGroupSplitTheTelemetry() async throws {
        let shared = ["--rules", Self.rules, "--mqtt-share-group", "plant"]
        let first = try await MQTTDeployment.start(shared + ["--mqtt-client-id", "sb-a"])
        // A second instance with its own data directory, taking telemetry only.
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        #expect(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).status == 0)
        let second = try await ServerProcess.start(
            data: data,
            extraArguments: [
                "--mqtt", "mqtt://127.0.0.1:\(first.broker.port)", "--mqtt-client-id", "sb-b", "--no-mqtt-shadows",
                "--auto-bind-devices",
            ]
                + shared)
        defer { second.stop() }
        let filter = "$share/plant/\(Self.telemetryFilter)"
        #expect(await first.waitForSubscriptions([filter] + Self.shadowRequestFilters, client: "sb-a"))
        #expect(await first.waitForSubscriptions([filter], client: "sb-b"))
        #expect(!first.brokerLog().contains("sb-b 1 $aws/"))

        let topic = "gateways/gw1/devices/f1/telemetry"
        let lines = (1...1_000).map { #"{"n":\#($0)}"# }
        try await first.run(
            "mosquitto_pub", ["-q", "1", "-t", topic, "-l"], input: lines.joined(separator: "\n") + "\n")
        func stored(_ server: ServerProcess, _ token: String) async throws -> [Int] {
            try await server.records("records", token: token).filter { ($0["topic"] as? String) == topic }
                .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
        }
        #expect(
            try await waitUntil(seconds: 30) {
                try await stored(first.server, first.admin.token).count + stored(second, admin.token).count >= 1_000
            })
        let (a, b) = (try await stored(first.server, first.admin.token), try await stored(second, admin.token))
        #expect(!a.isEmpty && !b.isEmpty, "one instance got everything: \(a.count) and \(b.count)")
        #expect((a + b).sorted() == Array(1...1_000))
    }

    @Test func theShippedACLKeepsEachGatewayToItsOwnTopics() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let passwords = directory.appendingPathComponent("passwords").path
        for (user, password) in [("signalbox", "s"), ("gw-01", "g1"), ("gw-02", "g2")] {
            let made = try CLI.runProgram(
                "/usr/bin/mosquitto_passwd", ["-b"] + (user == "signalbox" ? ["-c"] : []) + [passwords, user, password])
            try #require(made.status == 0, "mosquitto_passwd: \(made.stderr)")
        }
        let acl = CLI.packageRoot.appendingPathComponent("deploy/mosquitto/acl.example").path
        let broker = try Broker(configuration: "password_file \(passwords)\nacl_file \(acl)", anonymous: false)
        func run(_ user: (String, String), _ tool: String, _ arguments: [String]) async throws -> String {
            try await broker.run(tool, ["-V", "mqttv311", "-u", user.0, "-P", user.1] + arguments)
        }
        let (signalbox, gw1) = (("signalbox", "s"), ("gw-01", "g1"))
        // Signalbox's session on telemetry and shadow requests; gw-01's on every sync stream.
        let watched = ["-t", "gateways/#", "-t", "$aws/things/+/shadow/update"]
        _ = try await run(signalbox, "mosquitto_sub", ["-c", "-i", "sb", "-q", "1", "-E"] + watched)
        _ = try await run(
            gw1, "mosquitto_sub", ["-c", "-i", "gw1", "-q", "1", "-E", "-t", "$signalbox/gateways/+/sync"])
        for (topic, message) in [
            ("gateways/gw-01/devices/fridge-7/telemetry", "own telemetry"),
            ("gateways/gw-02/devices/pump-1/telemetry", "another gateway's telemetry"),
            ("$aws/things/fridge-7/shadow/update", "own device's shadow"),
            ("$aws/things/pump-1/shadow/update", "another gateway's device's shadow"),
            ("gateways/gw-01/devices/fridge-8/telemetry", "last"),
        ] {
            _ = try await run(gw1, "mosquitto_pub", ["-q", "1", "-t", topic, "-m", message])
        }
        let seen = try await run(
            signalbox, "mosquitto_sub", ["-c", "-i", "sb", "-q", "1", "-C", "3", "-W", "10"] + watched)
        #expect(seen.split(separator: "\n") == ["own telemetry", "own device's shadow", "last"])
        // A gateway gets only its own sync stream, even subscribed to all of them.
        for gateway in ["gw-02", "gw-01"] {
            _ = try await run(
                signalbox, "mosquitto_pub", ["-q", "1", "-t", "$signalbox/gateways/\(gateway)/sync", "-m", gateway])
        }
        let stream = try await run(
            gw1, "mosquitto_sub",
            ["-c", "-i", "gw1", "-q", "1", "-C", "1", "-W", "10", "-v", "-t", "$signalbox/gateways/+/sync"])
        #expect(stream == "$signalbox/gateways/gw-01/sync gw-01\n")
    }

    @Test func killingSignalboxUnderLoadLosesAndDuplicatesNothing() async throws {
        let deployment = try await MQTTDeployment.start(["--rules", Self.rules])
        #expect(await deployment.waitForSubscriptions([Self.telemetryFilter]))
        let topic = "gateways/gw1/devices/steady/telemetry"
        // 12,000 messages at 2,000/s; Signalbox is killed (SIGKILL) three times while they flow, each
        // time with messages journaled whose PUBACK the broker never got: the broker sends those
        // again, and none may make a second row.
        let count = 12_000
        let python = try await MQTTDeployment.python()
        async let publisher = deployment.publishSteadily(topic: topic, count: count, rate: 2_000, python: python)
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(1_500))
            try await deployment.killAndRestartServer()
        }
        #expect(try await publisher.count == count)
        #expect(try await waitUntil(seconds: 60) { try await deployment.stored(topic).count >= count })
        try await Task.sleep(for: .seconds(2))  // a duplicate would come with the last messages
        let stored = try await deployment.stored(topic)
        let duplicated = Dictionary(grouping: stored, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(duplicated.isEmpty, "stored more than once: \(duplicated)")
        #expect(Set(1...count).subtracting(stored).sorted().isEmpty, "never stored")
        #expect(stored.count == count)
        // The broker did send messages again (DUP set), so the test saw what it is about.
        #expect(deployment.brokerLog().contains("Sending PUBLISH to signalbox (d1"))
    }
}

/// A Mosquitto, a data directory with an admin token, and `signalbox serve --mqtt` connected to the
/// broker; the server is stopped and the directory removed when it goes away.
final class MQTTDeployment: @unchecked Sendable {  // used by one test at a time
    let broker: Broker
    let data: URL
    let admin: PrintedToken
    private(set) var server: ServerProcess
    /// The broker's certificates when it serves TLS only.
    let certificates: TestCertificates?
    private let serveArguments: [String]

    private init(
        broker: Broker, data: URL, admin: PrintedToken, server: ServerProcess, certificates: TestCertificates?,
        serveArguments: [String]
    ) {
        self.broker = broker
        self.data = data
        self.admin = admin
        self.server = server
        self.certificates = certificates
        self.serveArguments = serveArguments
    }

    /// Starts it all; `arguments`, then what `prepare` returns, go to `serve` after `--mqtt`.
    /// `prepare` runs on the data directory before the server starts. With `tls`, the broker serves
    /// TLS only, with certificates from a CA made for the test, and Signalbox connects with `mqtts://`.
    static func start(
        _ arguments: [String] = [], tls: Bool = false, prepare: (URL) throws -> [String] = { _ in [] }
    ) async throws -> MQTTDeployment {
        let certificates = tls ? try TestCertificates() : nil
        let broker = try Broker(configuration: certificates?.brokerConfiguration ?? "")
        let data = try makeTemporaryDirectory()
        // Telemetry arrives for gateway gw1's devices, bound to it as they first publish (the rules
        // name devices at level 4, and a gateway's messages are taken only for its own devices).
        let gateway = try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path])
        try #require(gateway.status == 0, "gateways add gw1: \(gateway.stderr)")
        let arguments = arguments + (try prepare(data)) + ["--auto-bind-devices"]
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let brokerURL =
            if let certificates {
                ["--mqtt", "mqtts://localhost:\(broker.port)", "--mqtt-ca", certificates.caFile]
            } else {
                ["--mqtt", "mqtt://127.0.0.1:\(broker.port)"]
            }
        let serveArguments = brokerURL + arguments
        let server = try await ServerProcess.start(data: data, extraArguments: serveArguments)
        return MQTTDeployment(
            broker: broker, data: data, admin: admin, server: server, certificates: certificates,
            serveArguments: serveArguments)
    }

    /// Kills the server with SIGKILL and starts it again on the same data directory, running
    /// `meanwhile` in between.
    func killAndRestartServer(meanwhile: () throws -> Void = {}) async throws {
        await server.kill()
        try meanwhile()
        server = try await ServerProcess.start(data: data, extraArguments: serveArguments)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: data)
    }

    /// Mosquitto's log (`log_type all`: every SUBSCRIBE reads `CLIENT QOS FILTER`).
    func brokerLog() -> String {
        (try? String(contentsOfFile: broker.directory + "/mosquitto.log", encoding: .utf8)) ?? ""
    }

    /// Waits until Signalbox (client id `client`) has subscribed to every one of `filters`.
    func waitForSubscriptions(_ filters: [String], client: String = "signalbox") async -> Bool {
        await waitUntil(seconds: 20) { filters.allSatisfy { self.brokerLog().contains("\(client) 1 \($0)") } }
    }

    /// Runs `mosquitto_pub` or `mosquitto_sub` against the broker.
    @discardableResult
    func run(_ tool: String, _ arguments: [String], input: String? = nil) async throws -> String {
        let arguments = (certificates.map { ["--cafile", $0.caFile] } ?? []) + arguments
        return try await broker.run(tool, arguments, input: input)
    }

    /// The `n` of every row persisted from `topic`, in row order.
    func stored(_ topic: String) async throws -> [Int] {
        try await server.records("records", token: admin.token)
            .filter { ($0["topic"] as? String) == topic }
            .compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
    }

    /// Publishes `{"n": 1…count}` to `topic` at `rate` messages a second with paho-mqtt (QoS 1,
    /// riding out broker restarts); returns the n the broker acknowledged. Expects all of them to be.
    func publishSteadily(topic: String, count: Int, rate: Int, python: String) async throws -> Set<Int> {
        let ackedFile = data.appendingPathComponent("acked-\(UUID().uuidString).txt").path
        let outcome = try await Self.runScript(
            "paho_steady_publisher.py", python: python,
            environment: [
                "MQTT_PORT": "\(broker.port)", "MQTT_TOPIC": topic, "MQTT_COUNT": "\(count)", "MQTT_RATE": "\(rate)",
                "ACKED_FILE": ackedFile,
            ])
        #expect(outcome.status == 0, "paho_steady_publisher.py: \(outcome.stdout)\(outcome.stderr)")
        return Set(
            try String(contentsOfFile: ackedFile, encoding: .utf8).split(separator: "\n").compactMap { Int($0) })
    }

    /// The Python of the integration tests' venv (created on first use).
    static func python() async throws -> String {
        let venv = try await CLI.runProgramAsync(
            "/bin/sh", [CLI.packageRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(venv.status == 0, "creating the Python venv failed: \(venv.stderr)")
        return venv.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// Runs `Tests/Integration/SCRIPT` with `python` (the venv's by default).
    static func runScript(_ script: String, python: String? = nil, environment: [String: String]) async throws
        -> CLI.Result
    {
        var interpreter = python
        if interpreter == nil { interpreter = try await self.python() }
        return try await CLI.runProgramAsync(
            interpreter ?? "", [CLI.packageRoot.appendingPathComponent("Tests/Integration/\(script)").path],
            environment: environment)
    }
}
