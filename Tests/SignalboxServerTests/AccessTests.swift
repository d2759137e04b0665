import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import Testing

@testable import SignalboxServer

struct AccessTests {
    /// Creates gateways `gw-a` and `gw-b` with devices `dev-a` and `dev-b`; returns their bearer tokens.
    static func twoGateways(_ server: TestServer) async throws -> (a: String, b: String) {
        var tokens: [String] = []
        for name in ["gw-a", "gw-b"] {
            let created = try await server.send(.post, "/admin/gateways", body: #"{"name":"\#(name)"}"#)
            #expect(created.status == 201)
            tokens.append(try #require(created.json["token"]?.string))
            let suffix = name.dropFirst(3)
            let bound = try await server.send(.put, "/admin/gateways/\(name)/devices/dev-\(suffix)")
            #expect(bound.status == 200)
        }
        return (tokens[0], tokens[1])
    }

    @Test func gatewayCannotTouchAnotherGatewaysDevices() async throws {
        try await TestServer.run { server in
            let (a, b) = try await Self.twoGateways(server)
            let own = try await server.send(
                .post, "/things/dev-a/shadow", token: a, body: #"{"state":{"desired":{"x":1}}}"#)
            #expect(own.status == 200)
            let other = try await server.send(
                .post, "/things/dev-b/shadow", token: b, body: #"{"state":{"desired":{"y":1}}}"#)
            #expect(other.status == 200)

            let attempts: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/things/dev-b/shadow", nil),
                (.post, "/things/dev-b/shadow", #"{"state":{"desired":{"y":2}}}"#),
                (.delete, "/things/dev-b/shadow", nil),
                (.get, "/things/dev-b/shadow?name=cfg", nil),
                (.get, "/api/things/shadow/ListNamedShadowsForThing/dev-b", nil),
                (.get, "/gateways/gw-b/sync", nil),
                (.get, "/things/unbound/shadow", nil),
                (.get, "/admin/gateways", nil),
                (.post, "/admin/tokens", #"{"role":"admin"}"#),
            ]
            for (method, uri, body) in attempts {
                let reply = try await server.send(method, uri, token: a, body: body)
                #expect(reply.status == 403, "\(method) \(uri)")
                #expect(reply.errorType == "ForbiddenException", "\(method) \(uri)")
                #expect(reply.message == "Forbidden")
            }
            // Nothing changed.
            let still = try await server.send(.get, "/things/dev-b/shadow")
            #expect(still.json["state"]?["desired"] == ["y": 1])
            #expect(try await server.registry.gateway(of: "unbound") == nil)
        }
    }

    @Test func autoBindBindsUnboundThingsToTheFirstGateway() async throws {
        try await TestServer.run(configure: { $0.autoBindDevices = true }) { server in
            let (a, b) = try await Self.twoGateways(server)
            let first = try await server.send(
                .post, "/things/new-dev/shadow", token: a, body: #"{"state":{"reported":{"v":1}}}"#)
            #expect(first.status == 200)
            #expect(try await server.registry.gateway(of: "new-dev") == "gw-a")
            let devices = try await server.send(.get, "/admin/gateways/gw-a/devices")
            #expect(devices.json["devices"] == ["dev-a", "new-dev"])
            let stolen = try await server.send(.get, "/things/new-dev/shadow", token: b)
            #expect(stolen.status == 403)
            let bound = try await server.send(.get, "/things/dev-a/shadow", token: b)
            #expect(bound.status == 403)
        }
    }

    @Test func syncReturnsOwnChangesAndLongPolls() async throws {
        try await TestServer.run { server in
            let (a, _) = try await Self.twoGateways(server)
            _ = try await server.send(.post, "/things/dev-a/shadow", body: #"{"state":{"desired":{"x":1}}}"#)
            _ = try await server.send(.post, "/things/dev-b/shadow", body: #"{"state":{"desired":{"y":1}}}"#)
            let first = try await server.send(.get, "/gateways/gw-a/sync?cursor=0", token: a)
            #expect(first.status == 200)
            guard case .array(let changes)? = first.json["changes"] else {
                Issue.record("no changes: \(first.text)")
                return
            }
            #expect(changes.map { $0["thing"] } == ["dev-a"])
            guard case .int(let cursor)? = first.json["cursor"] else {
                Issue.record("no cursor")
                return
            }

            async let waiting = server.send(.get, "/gateways/gw-a/sync?cursor=\(cursor)&wait=10", token: a)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await server.send(.post, "/things/dev-a/shadow", body: #"{"state":{"desired":{"x":2}}}"#)
            let woken = try await waiting
            #expect(woken.status == 200)
            #expect(woken.json["changes"]?[0]?["desired"] == ["x": 2])

            for bad in ["cursor=abc", "wait=soon", "cursor=-1", "limit=0"] {
                let reply = try await server.send(.get, "/gateways/gw-a/sync?\(bad)", token: a)
                #expect(reply.status == 400, "\(bad)")
                #expect(reply.errorType == "InvalidRequestException")
            }
            let admin = try await server.send(.get, "/gateways/gw-b/sync")
            #expect(admin.status == 200)
            let unknown = try await server.send(.get, "/gateways/nope/sync")
            #expect(unknown.status == 404)
        }
    }

    @Test func gracefulShutdownEndsALongPoll() async throws {
        try await TestServer.run { server in
            let (a, _) = try await Self.twoGateways(server)
            let started = ContinuousClock.now
            async let waiting = server.send(.get, "/gateways/gw-a/sync?cursor=0&wait=60", token: a)
            // Long enough for the request to be accepted and waiting even on a loaded machine: a
            // connection still in the listen backlog at shutdown is reset, not answered.
            try await Task.sleep(for: .seconds(1))
            await server.shutDown()
            let reply = try await waiting
            #expect(reply.status == 503)
            #expect(reply.errorType == "ServiceUnavailableException")
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }
}
