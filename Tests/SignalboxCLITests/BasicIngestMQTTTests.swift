import Foundation
import Testing

/// Basic Ingest and `#` matching over MQTT: `mosquitto_pub` to a real Mosquitto, `signalbox serve --mqtt`.
@Suite("Basic Ingest over MQTT", .serialized)
struct BasicIngestMQTTTests {
    @Test func aBasicIngestPublishInvokesTheRuleItNamesAndSensorHashSkipsSensor() async throws {
        let deployment = try await MQTTDeployment.start { data in
            let rules = data.appendingPathComponent("rules.yaml")
            try """
            version: 1
            devices:
              key_level: 1
            rules:
              - name: plants
                sql: SELECT topic() AS t, n FROM 'never/+'
                actions:
                  - function: persist
                    with: { table: records }
              - name: sensors
                sql: SELECT topic() AS t, n FROM 'sensor/#'
                actions:
                  - function: persist
                    with: { table: sensors }

            """.write(to: rules, atomically: true, encoding: .utf8)
            return ["--rules", rules.path]
        }
        #expect(await deployment.waitForSubscriptions(["$aws/rules/plants/#", "$aws/rules/sensors/#", "sensor/#"]))
        try await deployment.run("mosquitto_pub", ["-q", "1", "-t", "$aws/rules/plants/sensor/1", "-m", #"{"n":1}"#])
        // The broker hands 'sensor' to the 'sensor/#' subscription, as MQTT says; the rule must not
        // fire. The Basic Ingest message matches 'sensor/#' too, but names the other rule.
        try await deployment.run("mosquitto_pub", ["-q", "1", "-t", "sensor", "-m", #"{"n":2}"#])
        try await deployment.run("mosquitto_pub", ["-q", "1", "-t", "sensor/x", "-m", #"{"n":3}"#])

        let (server, admin) = (deployment.server, deployment.admin)
        func data(_ table: String) async throws -> [String] {
            try await server.records(table, token: admin.token).compactMap {
                ($0["data"] as? [String: Any]).map { "\($0["t"] ?? "") \($0["n"] ?? "")" }
            }
        }
        // Devices are keyed by the first level ('sensor', for the Basic Ingest message too), so the
        // three are handled in order: once 'sensor/x' is stored, the others have been handled.
        #expect(try await waitUntil(seconds: 30) { !(try await data("sensors")).isEmpty })
        #expect(try await data("sensors") == ["sensor/x 3"])
        #expect(try await data("records") == ["sensor/1 1"])
    }
}
