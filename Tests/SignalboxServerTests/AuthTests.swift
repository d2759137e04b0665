import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
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
        try await TestServer.run(
            clock: WallClock { now * 1000 },
            prepare: { registry, vault in
                try await registry.addToken(
                    vault.record(id: Self.accessKey, secret: Self.secret, role: .admin, gateway: nil, createdAt: 0))
            }
        ) { server in
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
        try await TestServer.run(
            clock: WallClock { Self.suiteTime * 1000 },
            prepare: { registry, vault in
                try await registry.addToken(
                    vault.record(id: Self.accessKey, secret: Self.secret, role: .admin, gateway: nil, createdAt: 0))
            }
        ) { server in
            let reply = try await server.send(
                .post, "/things/my%3Athing/shadow?name=%24config", token: .some(nil),
                headers: Self.signedHeaders(
                    signature: "ead85533ea5093067422692affc7c589783e95562649572f35d560c5147ba567"),
                body: #"{"state":{"desired":{"a":2}}}"#, authority: "127.0.0.1:8080")
            #expect(reply.status == 401)
        }
    }
}
