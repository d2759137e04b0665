import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTestSupport
import Testing

@testable import SignalboxServer

struct AuthTests {
    static let accessKey = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z, the AWS SigV4 test suite's time.
    static let suiteTime: Int64 = 1_440_938_160

    @Test func unauthorizedCases() async throws {
        try await TestServer.run { server in
            let cases: [(String?, HTTPFields)] = [
                (nil, [:]),
                ("garbage", [:]),
                ("\(server.admin.id).wrongsecretwrongsecretwrongsecretwrongs", [:]),
                ("SBXAAAAAAAAAAAAAAAAA.\(server.admin.secret)", [:]),
                (nil, [.authorization: "Basic YWRtaW46YWRtaW4="]),
                (nil, [.authorization: "AWS4-HMAC-SHA256 Credential=nonsense"]),
            ]
            for (token, headers) in cases {
                let reply = try await server.send(.get, "/things/t/shadow", token: .some(token), headers: headers)
                #expect(reply.status == 401, "\(String(describing: token)) \(headers)")
                #expect(reply.errorType == "UnauthorizedException")
                #expect(reply.message?.isEmpty == false)
                #expect(!reply.text.contains(server.admin.secret))
            }
        }
    }

    @Test func awsTestSuiteGetVanilla() {
        // aws-sig-v4-test-suite/get-vanilla: the published signature.
        let canonical = SigV4.canonicalRequest(
            method: "GET", rawPath: "/", rawQuery: nil,
            headers: ["host": ["example.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]],
            signedHeaders: ["host", "x-amz-date"], payloadHash: SigV4.hexSHA256([]))
        let text = SigV4.stringToSign(
            amzDate: "20150830T123600Z", scope: "20150830/us-east-1/service/aws4_request", canonicalRequest: canonical)
        let signature = SigV4.signature(
            secret: Self.secret, date: "20150830", region: "us-east-1", service: "service", stringToSign: text)
        #expect(signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func botocoreDoubleEncodesThePath() {
        // Computed with botocore 1.x SigV4Auth for the same request.
        let body = Array(#"{"state":{"desired":{"a":1}}}"#.utf8)
        let canonical = SigV4.canonicalRequest(
            method: "POST", rawPath: "/things/my%3Athing/shadow", rawQuery: "name=%24config",
            headers: [
                "content-type": ["application/json"], "host": ["127.0.0.1:8080"], "x-amz-date": ["20150830T123600Z"],
            ],
            signedHeaders: ["content-type", "host", "x-amz-date"], payloadHash: SigV4.hexSHA256(body))
        #expect(
            canonical
                == "POST\n/things/my%253Athing/shadow\nname=%24config\ncontent-type:application/json\n"
                + "host:127.0.0.1:8080\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
                + "6de35f380b51a26557c8990d648f212d5d9c4024a17d64f0d70d0c2ae5f9b19e")
        let text = SigV4.stringToSign(
            amzDate: "20150830T123600Z", scope: "20150830/us-east-1/iotdata/aws4_request", canonicalRequest: canonical)
        let signature = SigV4.signature(
            secret: Self.secret, date: "20150830", region: "us-east-1", service: "iotdata", stringToSign: text)
        #expect(signature == "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567")
        #expect(SigV4.canonicalQuery("pageSize=2&nextToken=abc%3D") == "nextToken=abc%3D&pageSize=2")
        #expect(SigV4.canonicalURI("/a/./b/../c//d") == "/a/c/d")
        #expect(SigV4.epochSeconds(amzDate: "20150830T123600Z") == Self.suiteTime)
    }

    /// Runs `body` on a server whose clock reads `now` and whose token `AKIDEXAMPLE` (the suite's
    /// secret) is an admin's, or `gateway`'s when one is named.
    static func withSuiteToken(
        now: Int64 = suiteTime, gateway: String? = nil, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        try await TestServer.run(
            configure: configure, clock: WallClock { now * 1000 },
            prepare: { registry, vault in
                if let gateway { try await registry.addGateway(Gateway(name: gateway, createdAt: 0)) }
                try await registry.addToken(
                    vault.record(
                        id: accessKey, secret: secret, role: gateway == nil ? .admin : .gateway, gateway: gateway,
                        createdAt: 0))
            }, body)
    }

    static func signedHeaders(signature: String) -> HTTPFields {
        [
            .authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iotdata/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date, Signature=\(signature)",
            HTTPField.Name("X-Amz-Date")!: "20150830T123600Z",
            .contentType: "application/json",
        ]
    }

    @Test(arguments: [
        (suiteTime, "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567", 200),
        (suiteTime + 20 * 60, "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567", 401),
        (suiteTime - 20 * 60, "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567", 401),
        (suiteTime + 60, "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba568", 401),
    ])
    func sigV4OverHTTP(now: Int64, signature: String, status: Int) async throws {
        try await Self.withSuiteToken(now: now) { server in
            let reply = try await server.send(
                .post, "/things/my%3Athing/shadow?name=%24config", token: .some(nil),
                headers: Self.signedHeaders(signature: signature), body: #"{"state":{"desired":{"a":1}}}"#,
                authority: "127.0.0.1:8080")
            #expect(reply.status == status, "\(reply.text)")
            if status == 401 {
                #expect(reply.errorType == "UnauthorizedException")
                #expect(!reply.text.contains(Self.secret))
            }
        }
    }

    @Test func sigV4RejectsATamperedBody() async throws {
        try await Self.withSuiteToken { server in
            let reply = try await server.send(
                .post, "/things/my%3Athing/shadow?name=%24config", token: .some(nil),
                headers: Self.signedHeaders(
                    signature: "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567"),
                body: #"{"state":{"desired":{"a":2}}}"#, authority: "127.0.0.1:8080")
            #expect(reply.status == 401)
        }
    }

    /// The suite's headers with a signature computed here for `method path?query` and `body` (no
    /// `x-amz-content-sha256`, as boto3's `iot-data` sends it: the signature waits for the body).
    static func signed(_ method: String, _ path: String, query: String? = nil, body: String) -> HTTPFields {
        let canonical = SigV4.canonicalRequest(
            method: method, rawPath: path, rawQuery: query,
            headers: [
                "content-type": ["application/json"], "host": ["127.0.0.1:8080"], "x-amz-date": ["20150830T123600Z"],
            ],
            signedHeaders: ["content-type", "host", "x-amz-date"], payloadHash: SigV4.hexSHA256(Array(body.utf8)))
        let text = SigV4.stringToSign(
            amzDate: "20150830T123600Z", scope: "20150830/us-east-1/iotdata/aws4_request", canonicalRequest: canonical)
        return signedHeaders(
            signature: SigV4.signature(
                secret: secret, date: "20150830", region: "us-east-1", service: "iotdata", stringToSign: text))
    }

    /// A signature covers the path with its empty, `.` and `..` segments removed, so a path with any is
    /// refused: a captured request cannot be sent again to another route or topic.
    @Test(arguments: [
        "/topics/../things/my%3Athing/shadow", "/things/my%3Athing/./shadow", "/things//my%3Athing/shadow",
        "//things/my%3Athing/shadow",
    ])
    func aSignedPathWithDotOrEmptySegmentsIsRefused(_ path: String) async throws {
        try await Self.withSuiteToken { server in
            let body = #"{"state":{"desired":{"a":1}}}"#
            let reply = try await server.send(
                .post, path + "?name=%24config", token: .some(nil),
                headers: Self.signed("POST", "/things/my%3Athing/shadow", query: "name=%24config", body: body),
                body: body, authority: "127.0.0.1:8080")
            #expect(reply.status == 400, "\(path): \(reply.text)")
            #expect(reply.errorType == "InvalidRequestException")
            // The signed path itself still works.
            let original = try await server.send(
                .post, "/things/my%3Athing/shadow?name=%24config", token: .some(nil),
                headers: Self.signed("POST", "/things/my%3Athing/shadow", query: "name=%24config", body: body),
                body: body, authority: "127.0.0.1:8080")
            #expect(original.status == 200, "\(original.text)")
        }
    }

    /// With a signature that waits for the body, a token id alone tells nothing: no path is told from
    /// another (404) and no role (403) before the body has proven the signature.
    @Test func aSignatureWaitingForItsBodyIsCheckedBeforeA404OrA403() async throws {
        try await Self.withSuiteToken(gateway: "gw") { server in
            let body = "{}"
            for path in ["/nowhere", "/admin/tokens"] {
                let forged = try await server.send(
                    .post, path, token: .some(nil),
                    headers: Self.signedHeaders(signature: String(repeating: "0", count: 64)),
                    body: body, authority: "127.0.0.1:8080")
                #expect(forged.status == 401, "\(path): \(forged.text)")
                #expect(forged.errorType == "UnauthorizedException", "\(path)")
                let genuine = try await server.send(
                    .post, path, token: .some(nil), headers: Self.signed("POST", path, body: body), body: body,
                    authority: "127.0.0.1:8080")
                #expect(genuine.status == (path == "/nowhere" ? 404 : 403), "\(path): \(genuine.text)")
            }
        }
    }

    /// Bodies whose signatures wait for them are read a few at a time (the ingest gate's share for
    /// unverified requests, here 1): one more is refused unread with 429.
    @Test func unverifiedBodiesAreReadAFewAtATime() async throws {
        try await Self.withSuiteToken(configure: { $0.maxConcurrentIngestsPerPrincipal = 1 }) { server in
            let forged = Self.signedHeaders(signature: String(repeating: "0", count: 64))
            var head = "POST /things/t/shadow HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 100\r\n"
            for field in forged { head += "\(field.name.rawName): \(field.value)\r\n" }
            // Its headers sent, its body never: it holds the one place.
            let held = try RawConnection(port: server.port)
            defer { held.close() }
            try held.send(head + "\r\n")
            var refused: Reply?
            for _ in 0..<50 {
                let reply = try await server.send(
                    .post, "/things/t/shadow", token: .some(nil), headers: forged, body: "{}",
                    authority: "127.0.0.1:8080")
                if reply.status == 429 {
                    refused = reply
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(refused?.errorType == "ThrottlingException")
            #expect(refused?.headers[.retryAfter] == "1")
            held.close()
            var checked = 0
            for _ in 0..<50 {
                checked = try await server.send(
                    .post, "/things/t/shadow", token: .some(nil), headers: forged, body: "{}",
                    authority: "127.0.0.1:8080"
                ).status
                if checked != 429 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(checked == 401, "once the place is free, the signature is checked")
        }
    }
}
