import ArgumentParser
import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxServer

/// Where a running server is and the admin token to use: for the commands whose work must happen
/// inside the server (retrying a dead letter runs its action there). The server is found as
/// ``ServerDiscovery`` says: `--url`, `$SIGNALBOX_URL`, or the data directory's `server.json`.
struct ServerOptions: ParsableArguments {
    @Option(
        help: """
            The data directory: the server running over it is found from the address it recorded there \
            (server.json).
            """)
    var data: String = "./data"

    @Option(help: "The server's base URL, instead of finding it from --data. Default: $SIGNALBOX_URL.")
    var url: String?

    @Option(help: "An admin token, as printed when created (ID.SECRET); default: $SIGNALBOX_TOKEN.")
    var token: String?

    /// Whether a URL was given (`--url` or `$SIGNALBOX_URL`), rather than to be found from `--data`.
    var hasExplicitURL: Bool { ServerDiscovery.explicitURL(url) != nil }

    /// A client for the server, once the server is found and the token is known to be usable.
    func client() throws -> AdminClient {
        guard var token = token ?? ProcessInfo.processInfo.environment["SIGNALBOX_TOKEN"], !token.isEmpty else {
            throw ValidationError("give --token or set SIGNALBOX_TOKEN to an admin token (ID.SECRET, as printed)")
        }
        // `ID:SECRET` is accepted too: the id never contains ':' or '.'.
        if !token.contains("."), let colon = token.firstIndex(of: ":") {
            token.replaceSubrange(colon...colon, with: ".")
        }
        return AdminClient(base: try ServerDiscovery.locate(url: url, data: data), token: token)
    }
}

/// Sends admin requests to a running server with a bearer token.
///
/// Over the same HTTP client as the handlers (AsyncHTTPClient): a server that is not there fails at
/// once, naming host, port and reason, and waiting for an answer costs no CPU (Foundation's
/// URLSession on Linux polled its connection hundreds of times a second while it waited).
struct AdminClient {
    /// The server's base URL.
    let base: URL
    /// The bearer token, `ID.SECRET`.
    let token: String

    /// The longest a command waits for the server's answer (a dead-letter retry waits for the action,
    /// which its own `timeout` bounds).
    static let timeout = Duration.seconds(120)

    /// The largest reply read (a page of dead letters carries their payloads).
    static let maxReplyBytes = 256 << 20

    /// A reply: the status, the body parsed as JSON (null when it is not JSON), as sent, and the
    /// header fields.
    struct Reply {
        var status: Int
        var body: Value
        var bytes: [UInt8] = []
        var headers: [OutgoingHTTPRequest.HeaderField] = []

        /// The value of header `name` (case-insensitive).
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// The `message` of an error body, or a generic description of the status.
        var message: String {
            if case .string(let message)? = body["message"] { return message }
            return "the server answered HTTP \(status)"
        }
    }

    /// Sends `method path` like ``send(_:_:body:headers:)`` and returns the body of a 2xx reply.
    ///
    /// - Throws: ``CommandFailure`` with the server's message for any other status.
    func call(_ method: String, _ path: String, body: [UInt8] = []) async throws -> Value {
        let reply = try await send(method, path, body: body)
        guard (200..<300).contains(reply.status) else { throw CommandFailure(reply.message) }
        return reply.body
    }

    /// Sends `method path` (the path already percent-encoded) and waits for the reply, at most
    /// ``timeout``.
    ///
    /// - Throws: ``CommandFailure`` when the server cannot be reached or does not answer in time.
    func send(
        _ method: String, _ path: String, body: [UInt8] = [], headers: [OutgoingHTTPRequest.HeaderField] = []
    ) async throws -> Reply {
        var root = base.absoluteString
        while root.hasSuffix("/") { root.removeLast() }
        var fields = [OutgoingHTTPRequest.HeaderField("Authorization", "Bearer \(token)")] + headers
        if !body.isEmpty { fields.append(.init("Content-Type", "application/json")) }
        let request = OutgoingHTTPRequest(method: method, url: root + path, headers: fields, body: body)
        let http = AsyncHTTPClientAdapter(maxResponseBytes: Self.maxReplyBytes)
        let result: Result<HTTPResponseReceived, any Error>
        do {
            result = .success(try await http.send(request, deadline: .now.advanced(by: Self.timeout)))
        } catch {
            result = .failure(error)
        }
        try? await http.shutdown()
        switch result {
        case .success(let response):
            return Reply(
                status: response.status, body: (try? JSONParser.parse(response.body)) ?? .null, bytes: response.body,
                headers: response.headers)
        case .failure(let error):
            throw CommandFailure(
                "cannot reach the Signalbox server at \(root): \(error); is it running? (it is found with --url, "
                    + "$\(ServerDiscovery.environmentVariable) or the data directory's \(ServerAddressFile.name))")
        }
    }
}
