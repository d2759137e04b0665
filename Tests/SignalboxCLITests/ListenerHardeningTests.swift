import Foundation
import SignalboxTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP listener against clients that hold connections without finishing requests, through the
/// real binary and raw sockets: slow bodies, half-sent headers, idle keep-alive connections and too
/// many connections.
@Suite("listener hardening", .serialized)
struct ListenerHardeningTests {
    /// A started server with an admin token and two gateways, gwA (device a1) and gwB (device b1).
    struct Deployment {
        let data: URL
        let server: ServerProcess
        let admin: PrintedToken
        let gwA: PrintedToken
        let gwB: PrintedToken

        static func start(_ arguments: [String], logFile: URL? = nil) async throws -> Deployment {
            let data = try makeTemporaryDirectory()
            let admin = try PrintedToken(
                try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
            let gwA = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gwA", "--data", data.path]).stdout)
            let gwB = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gwB", "--data", data.path]).stdout)
            _ = try await CLI.runAsync(["gateways", "bind", "gwA", "a1", "--data", data.path])
            _ = try await CLI.runAsync(["gateways", "bind", "gwB", "b1", "--data", data.path])
            let server = try await ServerProcess.start(data: data, extraArguments: arguments, logFile: logFile)
            return Deployment(data: data, server: server, admin: admin, gwA: gwA, gwB: gwB)
        }

        func stop() async {
            await server.stop()
            try? FileManager.default.removeItem(at: data)
        }
    }

    /// A request head announcing a 100,000-byte body, of which the client sends 8 bytes.
    static func slowPublish(token: String) -> String {
        "POST /topics/gateways%2FgwA%2Fdevices%2Fa1%2Ftelemetry HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer \(token)\r\nContent-Length: 100000\r\n\r\n{\"temp\":"
    }

    @Test func slowBodiesNeitherBlockOtherGatewaysNorStayOpen() async throws {
        let deployment = try await Deployment.start(
            ["--rules", "rules.yaml", "--max-concurrent-ingests", "8", "--body-timeout", "3s"])
        defer { Task { await deployment.stop() } }
        let port = deployment.server.port
        // 64 slow bodies: half with a bad token, half with gwA's own valid token.
        var slow: [RawConnection] = []
        for index in 0..<64 {
            let token = index.isMultiple(of: 2) ? "SBXNOTATOKEN.bad" : deployment.gwA.token
            let connection = try RawConnection(port: port)
            try connection.send(Self.slowPublish(token: token))
            slow.append(connection)
        }
        let held = slow
        try await Task.sleep(for: .milliseconds(300))
        // Another gateway's publishes keep going through while the slow bodies are held.
        for n in 1...20 {
            let reply = try await deployment.server.request(
                "POST", "/topics/gateways%2FgwB%2Fdevices%2Fb1%2Ftelemetry", token: deployment.gwB.token,
                body: #"{"temp": 3.5, "n": \#(n)}"#)
            #expect(reply.status == 200, "publish \(n) of gwB: \(reply.status) \(reply.body)")
        }
        // The bad tokens were refused from their headers, and gwA got no more than its share of the gate:
        // the rest of its slow requests were answered 429 at once.
        let early = try await offPool { held.map { $0.readAvailable(timeout: 0.5) } }
        #expect(
            early.enumerated().allSatisfy { index, reply in !index.isMultiple(of: 2) || reply.hasPrefix("HTTP/1.1 401")
            })
        let throttled = early.enumerated().filter { index, reply in
            !index.isMultiple(of: 2) && reply.hasPrefix("HTTP/1.1 429")
        }
        #expect(throttled.count >= 32 - 2, "gwA requests answered 429 at once: \(throttled.count)")
        // The bodies that never come in time close their connections.
        let closed = try await offPool { held.map { $0.waitForClose(timeout: 10) } }
        #expect(closed.allSatisfy { $0 }, "connections still open: \(closed.filter { !$0 }.count)")
        for connection in slow { connection.close() }
    }

    @Test func halfSentHeadersAndIdleConnectionsAreClosed() async throws {
        let deployment = try await Deployment.start(
            ["--rules", "rules.yaml", "--header-timeout", "1s", "--idle-timeout", "2s"])
        defer { Task { await deployment.stop() } }
        let port = deployment.server.port
        let started = Date()
        let halfSent = try RawConnection(port: port)
        try halfSent.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let silent = try RawConnection(port: port)
        let idle = try RawConnection(port: port)
        try idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let answer = try await offPool { idle.readAvailable(timeout: 5) }
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        let results = try await offPool {
            [halfSent.waitForClose(timeout: 6), silent.waitForClose(timeout: 6), idle.waitForClose(timeout: 6)]
        }
        #expect(results == [true, true, true])
        // Closed by the deadlines, not by anything slower.
        #expect(Date().timeIntervalSince(started) < 8)
        for connection in [halfSent, silent, idle] { connection.close() }
    }

    @Test func aClientThatStopsReadingIsClosed() async throws {
        let deployment = try await Deployment.start(["--rules", "rules.yaml", "--idle-timeout", "2s"])
        defer { Task { await deployment.stop() } }
        // 200 pipelined /metrics requests (several KB each) on a connection whose owner never reads:
        // the server cannot write the answers, and gives up after the idle timeout.
        let connection = try RawConnection(port: deployment.server.port, receiveBuffer: 4096)
        let request =
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(deployment.admin.token)\r\n\r\n"
        try connection.send(String(repeating: request, count: 200))
        try await Task.sleep(for: .seconds(5))
        // Read everything there is: the connection ends before all 200 answers were written.
        let received = try await offPool { connection.readUntilClosed(timeout: 30) }
        let answers = received.components(separatedBy: "HTTP/1.1 200").count - 1
        #expect(received.isEmpty == false)
        #expect(answers < 200, "all \(answers) answers were written to a client that did not read")
        connection.close()
    }

    @Test func pastTheConnectionLimitHealthChecksAreStillAnswered() async throws {
        let deployment = try await Deployment.start(
            ["--rules", "rules.yaml", "--max-connections", "40", "--header-timeout", "60s"])
        defer { Task { await deployment.stop() } }
        let port = deployment.server.port
        var held: [RawConnection] = []
        for _ in 0..<40 { held.append(try RawConnection(port: port)) }
        try await Task.sleep(for: .milliseconds(300))
        let health = try RawConnection(port: port)
        try health.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let healthReply = try await offPool { health.readAvailable(timeout: 5) }
        #expect(healthReply.hasPrefix("HTTP/1.1 200"), "healthz at the limit: \(healthReply.prefix(40))")
        let publish = try RawConnection(port: port)
        try publish.send(
            "POST /topics/gateways%2FgwB%2Fdevices%2Fb1%2Ftelemetry HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer \(deployment.gwB.token)\r\nContent-Length: 2\r\n\r\n{}")
        let publishReply = try await offPool { publish.readAvailable(timeout: 5) }
        #expect(publishReply.hasPrefix("HTTP/1.1 503"), "publish at the limit: \(publishReply.prefix(40))")
        #expect(publishReply.lowercased().contains("retry-after: 1"))
        #expect(try await offPool { publish.waitForClose(timeout: 5) })
        // Once connections are given back, requests are served again.
        for connection in held { connection.close() }
        #expect(
            try await waitUntil(seconds: 10) {
                try await deployment.server.request(
                    "POST", "/topics/gateways%2FgwB%2Fdevices%2Fb1%2Ftelemetry", token: deployment.gwB.token,
                    body: "{}"
                ).status == 200
            })
        health.close()
        publish.close()
    }
}
