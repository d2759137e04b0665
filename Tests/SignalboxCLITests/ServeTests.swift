import Foundation
import Testing

/// `signalbox serve`, `gateways` and `tokens` as a user runs them: the real binary, a real data
/// directory, real HTTP on loopback.
@Suite(.serialized)
struct ServeTests {
    @Test func acknowledgedUpdatesSurviveKill9AndRestart() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)

        // Many concurrent updates over 20 shadows; remember the highest version each acknowledged.
        let first = try await ServerProcess.start(data: data)
        let acknowledged = try await withThrowingTaskGroup(of: (String, Int).self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var last = 0
                    for n in 0..<50 {
                        let thing = "fridge-\((writer * 50 + n) % 20)"
                        let reply = try await first.request(
                            "POST", "/things/\(thing)/shadow", token: admin.token,
                            body: #"{"state":{"reported":{"writer":\#(writer),"n":\#(n)}}}"#)
                        #expect(reply.status == 200)
                        last += 1
                    }
                    return ("writer-\(writer)", last)
                }
            }
            var total = 0
            for try await (_, count) in group { total += count }
            return total
        }
        #expect(acknowledged == 400)
        await first.kill()

        let server = try await ServerProcess.start(data: data)

        var versions = 0
        for i in 0..<20 {
            let reply = try await server.request("GET", "/things/fridge-\(i)/shadow", token: admin.token)
            #expect(reply.status == 200)
            let document = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
            versions += document?["version"] as? Int ?? 0
        }
        await server.stop()
        // Every acknowledged update is there: the versions of the 20 shadows add up to all 400.
        #expect(versions == 400)
    }

    /// Many concurrent readers and writers over the SQLite store: nothing stalls (reads must never
    /// block the threads the store's own async work needs).
    @Test(.timeLimit(.minutes(2))) func concurrentGetsAndUpdatesNeverStall() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(data: data)
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            for client in 0..<64 {
                group.addTask {
                    var statuses: [Int] = []
                    for n in 0..<20 {
                        let thing = "stall-\((client + n) % 16)"
                        let update = try await server.request(
                            "POST", "/things/\(thing)/shadow", token: admin.token,
                            body: #"{"state":{"reported":{"n":\#(n)}}}"#)
                        let get = try await server.request("GET", "/things/\(thing)/shadow", token: admin.token)
                        statuses += [update.status, get.status]
                    }
                    return statuses
                }
            }
            var all: [Int] = []
            for try await statuses in group { all += statuses }
            return all
        }
        await server.stop()
        #expect(statuses.count == 64 * 40)
        #expect(statuses.allSatisfy { $0 == 200 })
    }

    @Test func killedUnderLoadLosesNothingAcknowledged() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let first = try await ServerProcess.start(data: data)
        // Writers keep updating until the server dies; each records the last version acknowledged.
        let writers = (0..<4).map { writer in
            Task { () -> (thing: String, version: Int) in
                let thing = "load-\(writer)"
                var version = 0
                while true {
                    guard
                        let reply = try? await first.request(
                            "POST", "/things/\(thing)/shadow", token: admin.token,
                            body: #"{"state":{"reported":{"n":\#(version + 1)}}}"#),
                        reply.status == 200,
                        let document = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))
                            as? [String: Any],
                        let acknowledged = document["version"] as? Int
                    else { return (thing, version) }
                    version = acknowledged
                }
            }
        }
        try await Task.sleep(for: .milliseconds(1500))
        await first.kill()
        var acknowledged: [(thing: String, version: Int)] = []
        for writer in writers { acknowledged.append(await writer.value) }
        #expect(acknowledged.allSatisfy { $0.version > 0 })

        let server = try await ServerProcess.start(data: data)

        for (thing, version) in acknowledged {
            let reply = try await server.request("GET", "/things/\(thing)/shadow", token: admin.token)
            let document = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
            let stored = document?["version"] as? Int ?? 0
            // An update may have committed without its reply arriving, never the other way round.
            #expect(stored >= version, "\(thing): acknowledged \(version), stored \(stored)")
            #expect(stored <= version + 1, "\(thing): acknowledged \(version), stored \(stored)")
        }
        await server.stop()
    }

    @Test func boto3IotDataDrivesTheRealServer() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(data: data)

        let venv = try await CLI.runProgramAsync(
            "/bin/sh", [CLI.packageRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        try #require(venv.status == 0, "creating the Python venv with boto3 failed: \(venv.stderr)")
        let pythonPath = venv.stdout.split(separator: "\n").last.map(String.init) ?? ""

        let result = try await CLI.runProgramAsync(
            pythonPath, [CLI.packageRoot.appendingPathComponent("Tests/Integration/boto3_shadows.py").path],
            environment: [
                "SIGNALBOX_ENDPOINT": server.baseURL.absoluteString,
                "SIGNALBOX_ACCESS_KEY_ID": admin.accessKeyID,
                "SIGNALBOX_SECRET_ACCESS_KEY": admin.secret,
            ])
        await server.stop()
        #expect(result.status == 0, "boto3 checks failed:\n\(result.stdout)\n\(result.stderr)")
    }

    @Test func gatewayTokensAreShownOnceAndNeverStoredInClear() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let added = try await CLI.runAsync(["gateways", "add", "gw-01", "--data", data.path])
        #expect(added.status == 0)
        let gateway = try PrintedToken(added.stdout)
        #expect(gateway.secret.count >= 32)
        #expect(try await CLI.runAsync(["gateways", "bind", "gw-01", "fridge-7", "--data", data.path]).status == 0)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)

        let listed = try await CLI.runAsync(["tokens", "list", "--data", data.path])
        #expect(listed.stdout.contains(gateway.accessKeyID))
        #expect(!listed.stdout.contains(gateway.secret))
        #expect(!listed.stdout.contains(admin.secret))

        let server = try await ServerProcess.start(data: data)
        let own = try await server.request(
            "POST", "/things/fridge-7/shadow", token: gateway.token, body: #"{"state":{"reported":{"t":4}}}"#)
        #expect(own.status == 200)
        let other = try await server.request("GET", "/things/fridge-9/shadow", token: gateway.token)
        #expect(other.status == 403)
        await server.stop()

        // No file of the data directory (or of its folders) holds a secret in clear.
        let walker = try #require(FileManager.default.enumerator(atPath: data.path))
        while let file = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: data.appendingPathComponent(file).path, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            let contents = try Data(contentsOf: data.appendingPathComponent(file))
            for secret in [gateway.secret, admin.secret] {
                #expect(contents.range(of: Data(secret.utf8)) == nil, "\(file) holds a token secret in clear")
            }
        }
    }

    @Test func getShadowInRulesReadsTheStore() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(data: data)
        let update = try await server.request(
            "POST", "/things/fridge-7/shadow", token: admin.token,
            body: #"{"state":{"desired":{"maxTemp":5,"alertPhone":"+15550100"}}}"#)
        await server.stop()
        #expect(update.status == 200)

        let arguments = [
            "test", "rules.yaml", "--topic", "gateways/gw-01/devices/fridge-7/telemetry", "--payload",
            #"{"temp": 9.5, "battery": 80}"#,
        ]
        let withStore = try await CLI.runAsync(arguments + ["--data", data.path])
        #expect(withStore.status == 0)
        #expect(withStore.stdout.contains("✓ fridge-too-warm"), "\(withStore.stdout)")
        #expect(withStore.stdout.contains("(limit 5 C)"), "\(withStore.stdout)")
        let withoutStore = try await CLI.runAsync(arguments)
        #expect(withoutStore.stdout.contains("✗ fridge-too-warm: WHERE is not true"), "\(withoutStore.stdout)")
    }

    @Test func refusesANonLoopbackAddressWithoutAnAdminToken() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await CLI.runAsync(["serve", "--data", data.path, "--host", "0.0.0.0", "--port", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("refusing to listen on non-loopback address"))
    }
}
