import Foundation
import SignalboxTestSupport
import Testing

/// A gateway acts only on its own devices, over HTTP and MQTT, with the shipped rules.yaml; values from
/// outside cannot forge log lines; the data directory is private.
@Suite("gateway boundaries", .serialized)
struct GatewayBoundaryTests {
    typealias Deployment = ListenerHardeningTests.Deployment

    /// The fridges whose readings `store-readings` persisted.
    static func storedFridges(_ server: ServerProcess, token: String) async throws -> [String] {
        try await server.records("readings", token: token).compactMap {
            ($0["data"] as? [String: Any])?["fridge"] as? String
        }
    }

    @Test func aGatewayCannotPublishForAnotherGatewaysDeviceOverHTTP() async throws {
        let deployment = try await Deployment.start(["--rules", "rules.yaml"])
        defer { Task { await deployment.stop() } }
        let server = deployment.server
        // b1 is gwB's: gwA may not publish for it, even under its own topic prefix.
        let refused = try await server.request(
            "POST", "/topics/gateways%2FgwA%2Fdevices%2Fb1%2Ftelemetry", token: deployment.gwA.token,
            body: #"{"temp": 99.9}"#)
        #expect(refused.status == 403)
        #expect(refused.body.contains("Device 'b1' is not bound to gateway 'gwA'"))
        // Nor for a device bound to no gateway, while auto-binding is off.
        let unbound = try await server.request(
            "POST", "/topics/gateways%2FgwA%2Fdevices%2Fnew1%2Ftelemetry", token: deployment.gwA.token,
            body: #"{"temp": 1}"#)
        #expect(unbound.status == 403)
        // A batch with one such message is refused whole, naming it.
        let batch = try await server.request(
            "POST", "/gateways/gwA/messages", token: deployment.gwA.token,
            body: #"[{"topic": "gateways/gwA/devices/a1/telemetry", "payload": {"temp": 2}},"#
                + #"{"topic": "gateways/gwA/devices/b1/telemetry", "payload": {"temp": 99.9}}]"#)
        #expect(batch.status == 403)
        #expect(batch.body.contains("message 1: Device 'b1'"))
        // Its own device goes through, and only that reading is stored; b1's shadow is untouched.
        let own = try await server.request(
            "POST", "/topics/gateways%2FgwA%2Fdevices%2Fa1%2Ftelemetry", token: deployment.gwA.token,
            body: #"{"temp": 4.5}"#)
        #expect(own.status == 200)
        #expect(
            try await waitUntil(seconds: 20) {
                try await Self.storedFridges(server, token: deployment.admin.token) == ["a1"]
            })
        #expect(try await server.request("GET", "/things/b1/shadow", token: deployment.admin.token).status == 404)
        let metrics = try await server.request("GET", "/metrics", token: deployment.admin.token).body
        #expect(MQTTServeTests.metric(#"signalbox_ingest_rejected_total{reason="unbound_device"}"#, in: metrics) == 3)
    }

    @Test func unboundDevicesAreBoundOnFirstUseWithAutoBinding() async throws {
        let deployment = try await Deployment.start(["--rules", "rules.yaml", "--auto-bind-devices"])
        defer { Task { await deployment.stop() } }
        let server = deployment.server
        let first = try await server.request(
            "POST", "/topics/gateways%2FgwA%2Fdevices%2Fnew1%2Ftelemetry", token: deployment.gwA.token, body: "{}")
        #expect(first.status == 200)
        // new1 is gwA's now, and b1 stays gwB's.
        let taken = try await server.request(
            "POST", "/topics/gateways%2FgwB%2Fdevices%2Fnew1%2Ftelemetry", token: deployment.gwB.token, body: "{}")
        #expect(taken.status == 403)
        let other = try await server.request(
            "POST", "/topics/gateways%2FgwA%2Fdevices%2Fb1%2Ftelemetry", token: deployment.gwA.token, body: "{}")
        #expect(other.status == 403)
        let devices = try await CLI.runAsync(["gateways", "list", "--data", deployment.data.path]).stdout
        #expect(devices.contains("gwA"))
    }

    @Test func overMQTTAGatewaysMessagesForAnotherGatewaysDeviceAreDropped() async throws {
        let broker = try Broker()
        defer { broker.stop() }
        let deployment = try await Deployment.start(
            ["--rules", "rules.yaml", "--mqtt", "mqtt://127.0.0.1:\(broker.port)"])
        defer { Task { await deployment.stop() } }
        let server = deployment.server
        // Readings for gwA's own a1 arrive once the subscription is in place.
        #expect(
            try await waitUntil(seconds: 20) {
                _ = try await broker.run(
                    "mosquitto_pub", ["-q", "1", "-t", "gateways/gwA/devices/a1/telemetry", "-m", #"{"temp": 4}"#])
                try await Task.sleep(for: .milliseconds(200))
                return try await Self.storedFridges(server, token: deployment.admin.token).contains("a1")
            })
        for topic in [
            "gateways/gwA/devices/b1/telemetry", "gateways/gwA/devices/nobody/telemetry",
            "gateways/ghost/devices/g1/telemetry",
        ] {
            _ = try await broker.run("mosquitto_pub", ["-q", "1", "-t", topic, "-m", #"{"temp": 99.9}"#])
        }
        #expect(
            try await waitUntil(seconds: 20) {
                let metrics = try await server.request("GET", "/metrics", token: deployment.admin.token).body
                return MQTTServeTests.metric(#"signalbox_ingest_rejected_total{reason="unbound_device"}"#, in: metrics)
                    == 3
            })
        // Then a reading of gwB's own device, after the refused ones: once it is stored, they would be too.
        _ = try await broker.run(
            "mosquitto_pub", ["-q", "1", "-t", "gateways/gwB/devices/b1/telemetry", "-m", #"{"temp": 3}"#])
        #expect(
            try await waitUntil(seconds: 20) {
                try await Self.storedFridges(server, token: deployment.admin.token).contains("b1")
            })
        let fridges = Set(try await Self.storedFridges(server, token: deployment.admin.token))
        #expect(fridges == ["a1", "b1"])
        // No shadow was created for the device no gateway owns.
        #expect(try await server.request("GET", "/things/nobody/shadow", token: deployment.admin.token).status == 404)
    }

    @Test func valuesFromOutsideAreEscapedInTheLog() async throws {
        let log = try makeTemporaryDirectory().appendingPathComponent("serve.log")
        let deployment = try await Deployment.start(["--rules", "rules.yaml", "--log-level", "info"], logFile: log)
        defer { Task { await deployment.stop() } }
        let server = deployment.server
        let forged = "2026-12-07T00:00:00Z critical signalbox : forged line"
        // A topic carrying a line feed and a forged line, and batch topics with ANSI escapes and CR.
        let encoded =
            "gateways%2FgwA%2Fdevices%2Fx%0A"
            + forged.replacingOccurrences(of: " ", with: "%20")
            .replacingOccurrences(of: ":", with: "%3A") + "%2Ftelemetry"
        let reply = try await server.request("POST", "/topics/\(encoded)", token: deployment.gwA.token, body: "{}")
        #expect(reply.status == 403)
        let batch = try await server.request(
            "POST", "/gateways/gwA/messages", token: deployment.gwA.token,
            body: #"[{"topic": "gateways/gwA/devices/\u001b[31mred\r/telemetry", "payload": {}}]"#)
        #expect(batch.status == 403)
        await server.stop()
        let bytes = Array(try Data(contentsOf: log))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"x\n2026-12-07T00:00:00Z critical"#), "the escaped line feed is in the log")
        #expect(text.contains(#"\x1B[31mred\r"#))
        // No control character but the line ends, and every line is one the logger wrote.
        #expect(!bytes.contains { $0 < 0x20 && $0 != 0x0A })
        for line in text.split(separator: "\n") {
            #expect(!line.hasPrefix(forged), "forged line: \(line)")
        }
    }

    @Test func theDataDirectoryIsPrivate() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        // A directory made looser by hand is tightened by the next command; a file that is not
        // Signalbox's is left alone.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: data.path)
        _ = FileManager.default.createFile(
            atPath: data.appendingPathComponent("notes.txt").path, contents: Data("x".utf8),
            attributes: [.posixPermissions: 0o644])
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(data: data, extraArguments: ["--rules", "rules.yaml"])
        #expect(
            try await server.request(
                "POST", "/topics/gateways%2Fgw%2Fdevices%2Ff1%2Ftelemetry", token: admin.token, body: #"{"temp": 1}"#
            ).status == 200)
        await server.stop()
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
        }
        #expect(try mode(data.path) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path)
        #expect(files.contains("secret.key") && files.contains("signalbox.sqlite") && files.contains("journal.sqlite"))
        // Files 0600; folders (functions/) 0700.
        for file in files where file != "notes.txt" {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: data.appendingPathComponent(file).path, isDirectory: &isDirectory)
            #expect(
                try mode(data.appendingPathComponent(file).path) == (isDirectory.boolValue ? 0o700 : 0o600), "\(file)")
        }
        #expect(try mode(data.appendingPathComponent("notes.txt").path) == 0o644)
    }

    @Test func bearerOnlyTokensKeepOnlyAHash() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let created = try await CLI.runAsync(["tokens", "create", "--admin", "--bearer-only", "--data", data.path])
        #expect(created.status == 0)
        #expect(!created.stdout.contains("secret access key"))
        #expect(created.stdout.contains("bearer-only"))
        let normal = try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout
        #expect(normal.contains("secret access key"))
        #expect(normal.contains("secret.key"))
        let listed = try await CLI.runAsync(["tokens", "list", "--data", data.path]).stdout
        #expect(listed.contains("admin\t-\tbearer-only"))
        #expect(listed.contains("gateway\tgw1\tbearer+sigv4"))
        // The bearer-only token works as a bearer token.
        guard let line = created.stdout.split(separator: "\n").first(where: { $0.contains("token:") }),
            let token = line.split(separator: " ").last
        else { throw ServerError("no token printed") }
        let server = try await ServerProcess.start(data: data, extraArguments: ["--rules", "rules.yaml"])
        #expect(try await server.request("GET", "/admin/tokens", token: String(token)).status == 200)
        await server.stop()
    }
}
