import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import Testing

@testable import SignalboxServer

struct ShadowRoutesTests {
    @Test func shadowCRUDOverHTTP() async throws {
        try await TestServer.run { server in
            let created = try await server.send(
                .post, "/things/lamp/shadow", body: #"{"state":{"desired":{"on":true}},"clientToken":"c1"}"#)
            #expect(created.status == 200)
            #expect(created.contentType == "application/json")
            #expect(created.json["state"] == ["desired": ["on": true]])
            #expect(created.json["version"] == 1)
            #expect(created.json["clientToken"] == "c1")

            let fetched = try await server.send(.get, "/things/lamp/shadow")
            #expect(fetched.status == 200)
            #expect(fetched.json["state"]?["delta"] == ["on": true])

            let deleted = try await server.send(.delete, "/things/lamp/shadow")
            #expect(deleted.status == 200)
            #expect(deleted.json["version"] == 1)

            let missing = try await server.send(.get, "/things/lamp/shadow")
            #expect(missing.status == 404)
            #expect(missing.errorType == "ResourceNotFoundException")
            #expect(missing.message == "No shadow exists with name: 'lamp'")
        }
    }

    @Test func rawPathSegmentsAreDecodedAfterRouting() async throws {
        try await TestServer.run { server in
            let created = try await server.send(
                .post, "/things/my%3Athing/shadow?name=%24config", body: #"{"state":{"reported":{"a":1}}}"#)
            #expect(created.status == 200)
            let listed = try await server.send(.get, "/api/things/shadow/ListNamedShadowsForThing/my%3Athing")
            #expect(listed.status == 200)
            #expect(listed.json["results"] == ["$config"])
            let named = try await server.send(.get, "/things/my:thing/shadow?name=$config")
            #expect(named.json["state"] == ["reported": ["a": 1]])

            for bad in ["/things/my%zzthing/shadow", "/things/a/shadow?name=%2", "/things/%FF/shadow"] {
                let reply = try await server.send(.get, bad)
                #expect(reply.status == 400, "\(bad)")
                #expect(reply.errorType == "InvalidRequestException", "\(bad)")
            }
            // An encoded slash stays inside its segment: no such route.
            let slash = try await server.send(.get, "/things%2Fx/shadow")
            #expect(slash.status == 404)
        }
    }

    @Test func errorShapes() async throws {
        try await TestServer.run(configure: { $0.maxBodyBytes = 1024 }) { server in
            let cases: [(HTTPRequest.Method, String, String?, Int, String)] = [
                (.post, "/things/t/shadow", "{nope", 400, "InvalidRequestException"),
                (.post, "/things/bad%20name/shadow", #"{"state":{}}"#, 400, "InvalidRequestException"),
                (.get, "/things/t/shadow", nil, 404, "ResourceNotFoundException"),
                (.get, "/nowhere", nil, 404, "ResourceNotFoundException"),
                (.put, "/things/t/shadow", "{}", 405, "MethodNotAllowedException"),
                (
                    .post, "/things/t/shadow", String(repeating: " ", count: 2000) + "{}", 413,
                    "RequestEntityTooLargeException"
                ),
                (
                    .get, "/api/things/shadow/ListNamedShadowsForThing/t?pageSize=two", nil, 400,
                    "InvalidRequestException"
                ),
                (.get, "/api/things/shadow/ListNamedShadowsForThing/t?pageSize=0", nil, 400, "InvalidRequestException"),
            ]
            for (method, uri, body, status, type) in cases {
                let reply = try await server.send(method, uri, body: body)
                #expect(reply.status == status, "\(method) \(uri)")
                #expect(reply.errorType == type, "\(method) \(uri)")
                #expect(reply.contentType == "application/json")
                #expect(reply.message?.isEmpty == false, "\(method) \(uri): \(reply.text)")
                if case .object(let object) = reply.json { #expect(object.keys == ["message"]) }
            }
            _ = try await server.send(.post, "/things/t/shadow", body: #"{"state":{"desired":{"x":1}}}"#)
            let conflict = try await server.send(
                .post, "/things/t/shadow", body: #"{"state":{"desired":{"x":2}},"version":7}"#)
            #expect(conflict.status == 409)
            #expect(conflict.errorType == "ConflictException")
            #expect(conflict.message == "Version conflict")
        }
    }

    @Test func oversizedMergedStateIs413() async throws {
        try await TestServer.run { server in
            let half = String(repeating: "x", count: 5000)
            let first = try await server.send(
                .post, "/things/big/shadow", body: #"{"state":{"desired":{"a":"\#(half)"}}}"#)
            #expect(first.status == 200)
            let second = try await server.send(
                .post, "/things/big/shadow", body: #"{"state":{"reported":{"b":"\#(half)"}}}"#)
            #expect(second.status == 413)
            #expect(second.errorType == "RequestEntityTooLargeException")
            #expect(second.text.contains(half) == false)
        }
    }

    @Test func listNamedShadowsPaginates() async throws {
        try await TestServer.run { server in
            for name in ["a", "b", "c", "d", "e"] {
                _ = try await server.send(
                    .post, "/things/t/shadow?name=\(name)", body: #"{"state":{"reported":{"on":1}}}"#)
            }
            var names: [Value] = []
            var token: String?
            var pages = 0
            repeat {
                let query = token.map { "&nextToken=\(PercentEncoding.encode($0, keeping: ""))" } ?? ""
                let page = try await server.send(
                    .get, "/api/things/shadow/ListNamedShadowsForThing/t?pageSize=2\(query)")
                #expect(page.status == 200)
                if case .array(let results)? = page.json["results"] { names += results }
                token = page.json["nextToken"]?.string
                pages += 1
            } while token != nil && pages < 10
            #expect(names == ["a", "b", "c", "d", "e"])
            #expect(pages == 3)
        }
    }

    @Test func healthAndReadinessNeedNoAuth() async throws {
        try await TestServer.run { server in
            let health = try await server.send(.get, "/healthz", token: .some(nil))
            #expect(health.status == 200)
            #expect(health.json == ["status": "ok"])
            let ready = try await server.send(.get, "/readyz", token: .some(nil))
            #expect(ready.status == 200)
        }
    }
}
