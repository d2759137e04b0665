import HTTPTypes
import SignalboxJSON
import Testing

/// Bad input over HTTP gets AWS's documented error and changes nothing.
/// https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPRequest.Method = .post
        var path: String = "/things/fridge-7/shadow"
        var body: [UInt8]
        var status: Int
        var errorType: String
        var message: String?
        var testDescription: String { name }

        init(
            _ name: String, method: HTTPRequest.Method = .post, path: String = "/things/fridge-7/shadow",
            _ body: String, _ status: Int, _ errorType: String, _ message: String? = nil
        ) {
            self.init(name, method: method, path: path, bytes: Array(body.utf8), status, errorType, message)
        }

        init(
            _ name: String, method: HTTPRequest.Method = .post, path: String = "/things/fridge-7/shadow",
            bytes: [UInt8], _ status: Int, _ errorType: String, _ message: String? = nil
        ) {
            self.name = name
            self.method = method
            self.path = path
            self.body = bytes
            self.status = status
            self.errorType = errorType
            self.message = message
        }
    }

    /// Seven levels, counting `desired` as the first; six are allowed.
    static let deep = #"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}"#
    static let cases: [Case] = [
        Case("invalid JSON", #"{"state":"#, 400, "InvalidRequestException", "Invalid JSON"),
        Case("not an object", "[1,2]", 400, "InvalidRequestException", "Invalid JSON"),
        Case("missing state", #"{"desired":{"a":1}}"#, 400, "InvalidRequestException", "Missing required node: state"),
        Case("state a string", #"{"state":"on"}"#, 400, "InvalidRequestException", "State node must be an object"),
        Case(
            "desired an array", #"{"state":{"desired":[1]}}"#, 400, "InvalidRequestException",
            "Desired node must be an object"),
        Case(
            "reported a number", #"{"state":{"reported":7}}"#, 400, "InvalidRequestException",
            "Reported node must be an object"),
        Case(
            "unknown state key", #"{"state":{"delta":{"a":1}}}"#, 400, "InvalidRequestException",
            "State contains an invalid node"),
        Case(
            "version a string", #"{"state":{"desired":{"a":1}},"version":"3"}"#, 400, "InvalidRequestException",
            "Invalid version"),
        Case(
            "clientToken too long",
            #"{"state":{"desired":{"a":1}},"clientToken":"\#(String(repeating: "t", count: 65))"}"#,
            400, "InvalidRequestException", "Invalid clientToken"),
        Case(
            "too deep", deep, 400, "InvalidRequestException",
            "JSON contains too many levels of nesting; maximum is 6"),
        Case("null in an array", #"{"state":{"desired":{"a":[1,null]}}}"#, 400, "InvalidRequestException"),
        Case(
            "invalid UTF-8", bytes: Array(#"{"state":{"desired":{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}}}"#.utf8),
            415, "UnsupportedDocumentEncodingException",
            "Unsupported documented encoding; supported encoding is UTF-8"),
        Case(
            "merged state over 8 KB",
            #"{"state":{"reported":{"blob":"\#(String(repeating: "x", count: 8200))"}}}"#, 413,
            "RequestEntityTooLargeException", "The payload exceeds the maximum size allowed"),
        Case(
            "body over the request limit", #"{"state":{}} "# + String(repeating: " ", count: 200_000), 413,
            "RequestEntityTooLargeException"),
        Case(
            "version conflict", #"{"state":{"desired":{"a":2}},"version":9}"#, 409, "ConflictException",
            "Version conflict"),
        Case(
            "malformed percent-encoding", path: "/things/fridge%2/shadow", #"{"state":{"desired":{"a":2}}}"#, 400,
            "InvalidRequestException"),
        Case(
            "bad thing name", path: "/things/fridge%207/shadow", #"{"state":{"desired":{"a":2}}}"#, 400,
            "InvalidRequestException"),
        Case(
            "bad shadow name", path: "/things/fridge-7/shadow?name=a%2Fb", #"{"state":{"desired":{"a":2}}}"#, 400,
            "InvalidRequestException"),
        Case(
            "delete with a malformed name", method: .delete, path: "/things/fridge-7/shadow?name=%zz", "", 400,
            "InvalidRequestException"),
    ]

    @Test(arguments: cases)
    func badInputGetsTheDocumentedErrorAndChangesNothing(_ row: Case) async throws {
        try await TestServer.run { server in
            let created = try await server.send(
                .post, "/things/fridge-7/shadow", body: #"{"state":{"desired":{"a":1},"reported":{"a":0}}}"#)
            #expect(created.status == 200)
            let before = try await server.send(.get, "/things/fridge-7/shadow")

            let reply = try await server.send(row.method, row.path, bytes: row.body)
            #expect(reply.status == row.status)
            #expect(reply.errorType == row.errorType)
            if let message = row.message { #expect(reply.message == message) }

            let after = try await server.send(.get, "/things/fridge-7/shadow")
            #expect(after.status == 200)
            // Same document: state, metadata and version (the reply timestamp is the time of the get).
            for member in ["state", "metadata", "version"] {
                #expect(after.json[member] == before.json[member], "\(member) changed")
            }
        }
    }
}
