import ArgumentParser
import Foundation
import SignalboxJSON

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where a running server is and the admin token to use: for the commands whose work must happen
/// inside the server (retrying a dead letter runs its action there).
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's base URL.")
    var url: String = "http://127.0.0.1:8080"

    @Option(help: "An admin token, as printed when created (ID.SECRET); default: $SIGNALBOX_TOKEN.")
    var token: String?

    /// A client for the server, once the URL and token are known to be usable.
    func client() throws -> AdminClient {
        guard let base = URL(string: url), let scheme = base.scheme, ["http", "https"].contains(scheme),
            base.host != nil
        else {
            throw ValidationError("--url must be an http or https URL, such as http://127.0.0.1:8080")
        }
        guard var token = token ?? ProcessInfo.processInfo.environment["SIGNALBOX_TOKEN"], !token.isEmpty else {
            throw ValidationError("give --token or set SIGNALBOX_TOKEN to an admin token (ID.SECRET, as printed)")
        }
        // `ID:SECRET` is accepted too: the id never contains ':' or '.'.
        if !token.contains("."), let colon = token.firstIndex(of: ":") {
            token.replaceSubrange(colon...colon, with: ".")
        }
        return AdminClient(base: base, token: token)
    }
}

/// Sends admin requests to a running server with a bearer token.
struct AdminClient {
    /// The server's base URL.
    let base: URL
    /// The bearer token, `ID.SECRET`.
    let token: String

    /// A reply: the status and the body parsed as JSON (null when it is not JSON).
    struct Reply {
        var status: Int
        var body: Value

        /// The `message` of an error body, or a generic description of the status.
        var message: String {
            if case .string(let message)? = body["message"] { return message }
            return "the server answered HTTP \(status)"
        }
    }

    /// Sends `method path` (the path already percent-encoded) and waits for the reply.
    ///
    /// - Throws: ``CommandFailure`` when the server cannot be reached.
    func send(_ method: String, _ path: String) async throws -> Reply {
        guard let url = URL(string: path, relativeTo: base) else { throw CommandFailure("invalid request path") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 120
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CommandFailure(
                "cannot reach the Signalbox server at \(base.absoluteString): \(error.localizedDescription); "
                    + "is it running? (--url)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return Reply(status: status, body: (try? JSONParser.parse(Array(data))) ?? .null)
    }
}
