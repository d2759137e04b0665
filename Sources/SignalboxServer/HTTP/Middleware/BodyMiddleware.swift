import Hummingbird
import NIOCore

/// The most a route reads of a request body, and the error for a larger one.
struct BodyLimit: Sendable {
    /// The largest body, in bytes.
    var bytes: Int
    /// The reply to a larger one.
    var error: APIError
    /// Called when a body is refused as too large (to count it).
    var onRefusal: @Sendable () -> Void = {}
}

/// Reads the body, at most ``BodyLimit/bytes`` of it, into ``SignalboxRequestContext/body`` and checks it
/// against the signature that covers it.
///
/// A body whose signature is still unchecked (SigV4 without `x-amz-content-sha256`) is read in the
/// `gate`'s share for unverified requests, so only a few bodies sent with nothing but a (public)
/// token id are in memory at once; past it, 429 unread. The ingest routes pass no gate: their
/// ``IngestGateMiddleware`` has taken that share already.
struct BodyMiddleware: SignalboxMiddleware {
    let limit: BodyLimit
    let gate: IngestGate?

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        var context = context
        context.body = try await read(request, credentials: context.credentials)
        return try await next(request, context)
    }

    /// The body of `request`, checked against `credentials`.
    ///
    /// - Throws: ``BodyLimit/error`` for a larger body, 401 for a signature that does not match, 429
    ///   when the share for unverified requests is full.
    func read(_ request: Request, credentials: HeaderCredentials?) async throws(APIError) -> [UInt8] {
        let unverified = gate != nil && credentials?.isProven == false
        if unverified {
            guard gate?.enter(.unverified) == true else {
                throw APIError.throttled(
                    "Too many requests are waiting for their signatures to be checked; retry after 1 second",
                    retryAfter: 1)
            }
        }
        defer { if unverified { gate?.leave(.unverified) } }
        let body = try await collect(request)
        try credentials?.verify(body: body)
        return body
    }

    private func collect(_ request: Request) async throws(APIError) -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit.bytes {
            limit.onRefusal()
            throw limit.error
        }
        do {
            let buffer = try await request.body.collect(upTo: limit.bytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            limit.onRefusal()
            throw limit.error
        } catch {
            throw APIError.badRequest("The request body could not be read")
        }
    }
}

/// Gives a publish a place in the ingest gate before its body is read, so at most the gate's limit of
/// publish bodies are in memory at once (and one principal's share of them); one that would be refused
/// is refused unread (429), and its body is discarded as it arrives.
struct IngestGateMiddleware: SignalboxMiddleware {
    let runtime: RuntimeDependencies

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        let credentials = context.credentials
        let share: IngestGate.Share =
            credentials.map { $0.isProven ? .principal($0.principal) : .unverified } ?? .unverified
        guard runtime.ingest?.isFull != true, runtime.ingestGate.enter(share) else {
            throw runtime.overloaded(retryAfter: 1)
        }
        defer { runtime.ingestGate.leave(share) }
        return try await next(request, context)
    }
}
