import Foundation
import Testing

/// Basic Ingest and AWS topic-filter matching through `signalbox serve` and real HTTP.
@Suite("Basic Ingest end to end", .serialized)
struct BasicIngestEndToEndTests {
    /// Both rules key devices by the first level, so every message below goes through one lane in
    /// order: once the last one is stored, the earlier ones have been handled.
    static let rules = """
        version: 1
        devices:
          key_level: 1
        rules:
          - name: named
            sql: >-
              SELECT topic() AS t, topic(1) AS first, traceid() AS trace, accountid() AS account, n
              FROM 'never/+'
            actions:
              - function: persist
                with: { table: named }
          - name: sensors
            sql: SELECT topic() AS t, n FROM 'sensor/#'
            actions:
              - function: persist
                with: { table: sensors }

        """

    /// The `data` of every record of `table`.
    static func data(_ server: ServerProcess, _ table: String, token: String) async throws -> [[String: Any]] {
        try await server.records(table, token: token).compactMap { $0["data"] as? [String: Any] }
    }

    @Test("a publish to $aws/rules/{rule}/… invokes that rule alone; 'sensor/#' does not fire on 'sensor'")
    func basicIngestAndMultiLevelWildcard() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rulesFile = data.appendingPathComponent("rules.yaml")
        try Data(Self.rules.utf8).write(to: rulesFile)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rulesFile.path, "--account-id", "123456789012"])

        let routed = try await server.json(
            "POST", "/topics/%24aws%2Frules%2Fnamed%2Fsensor%2Fa", token: admin.token, body: #"{"n": 1}"#)
        #expect(routed.status == 200)
        let traceID = try #require(routed.object["traceId"] as? String)
        #expect(
            try await server.request("POST", "/topics/sensor", token: admin.token, body: #"{"n": 2}"#).status == 200)
        #expect(
            try await server.request("POST", "/topics/sensor%2Fb", token: admin.token, body: #"{"n": 3}"#).status == 200
        )

        #expect(try await waitUntil { !(try await Self.data(server, "sensors", token: admin.token).isEmpty) })
        // Only 'sensor/b' reached 'sensors': not 'sensor', and not the Basic Ingest message, which
        // named the other rule although its topic matches 'sensor/#'.
        let sensors = try await Self.data(server, "sensors", token: admin.token)
        #expect(sensors.map { "\($0["t"] ?? "") \($0["n"] ?? "")" } == ["sensor/b 3"])
        let named = try await Self.data(server, "named", token: admin.token)
        #expect(named.count == 1)
        #expect(named.first?["t"] as? String == "sensor/a")
        #expect(named.first?["first"] as? String == "sensor")
        #expect(named.first?["trace"] as? String == traceID)
        #expect(named.first?["account"] as? String == "123456789012")
        #expect(named.first?["n"] as? Int == 1)
        await server.stop()
    }

    @Test("Basic Ingest topics are validated, and a gateway may use them only for topics in its scope")
    func basicIngestValidationAndGatewayScope() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rulesFile = data.appendingPathComponent("rules.yaml")
        try Data(Self.rules.utf8).write(to: rulesFile)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rulesFile.path, "--auto-bind-devices"])

        let cases: [(topic: String, token: String, status: Int, message: String?)] = [
            ("%24aws%2Frules%2Fnamed%2Fgateways%2Fgw1%2Fdevices%2Fd1", gateway.token, 200, nil),
            (
                "%24aws%2Frules%2Fnamed%2Fgateways%2Fgw2%2Fdevices%2Fd1", gateway.token, 403,
                "This gateway may publish only to topics matching gateways/gw1/#"
            ),
            (
                "%24aws%2Frules%2Fbad.name%2Fx", admin.token, 400,
                "Invalid topic: the rule name of a Basic Ingest topic may only contain letters, digits, '_' and '-'"
            ),
            (
                "%24aws%2Frules%2Fnamed", admin.token, 400,
                "Invalid topic: a Basic Ingest topic is $aws/rules/{rule}/{topic}; the topic after the rule name "
                    + "is missing"
            ),
            ("%24aws%2Frules%2Fnamed%2F%24aws%2Fthings%2Ft%2Fshadow%2Fupdate", admin.token, 400, nil),
            ("%24aws%2Fthings%2Ft%2Fshadow%2Fupdate", admin.token, 400, nil),
        ]
        for item in cases {
            let reply = try await server.json("POST", "/topics/\(item.topic)", token: item.token, body: "{}")
            #expect(reply.status == item.status, "\(item.topic)")
            if let message = item.message { #expect(reply.object["message"] as? String == message) }
        }
        #expect(try await waitUntil { try await Self.data(server, "named", token: admin.token).count == 1 })
        #expect(
            try await Self.data(server, "named", token: admin.token).first?["t"] as? String == "gateways/gw1/devices/d1"
        )
        await server.stop()
    }
}
