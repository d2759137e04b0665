/// An HTTP request a handler sends.
package struct OutgoingHTTPRequest: Sendable, Hashable {
    /// `POST`, `GET`, …
    package var method: String
    /// An absolute `http` or `https` URL.
    package var url: String
    /// Header fields, in order.
    package var headers: [HeaderField]
    /// The body.
    package var body: [UInt8]

    /// One header field.
    package struct HeaderField: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request.
    package init(method: String = "POST", url: String, headers: [HeaderField] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The response to an ``OutgoingHTTPRequest``.
package struct HTTPResponseReceived: Sendable, Hashable {
    /// The status code.
    package var status: Int
    /// Header fields, in order.
    package var headers: [OutgoingHTTPRequest.HeaderField]
    /// The body (handlers read at most what they need).
    package var body: [UInt8]

    /// A response.
    package init(status: Int, headers: [OutgoingHTTPRequest.HeaderField] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Outgoing HTTP for handlers.
package protocol HTTPClient: Sendable {
    /// Sends `request`; throws when no response arrives before `deadline` or the connection fails.
    func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws -> HTTPResponseReceived
}
