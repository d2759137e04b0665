import Hummingbird
import SignalboxCore

/// Authenticates the caller from the headers alone, before anything costly (an ingest place, the
/// body): 401 without credentials or with bad ones, on every path, known or not. The body, when the
/// credentials sign it, is checked by ``BodyMiddleware``.
struct AuthenticationMiddleware: SignalboxMiddleware {
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        guard request.headers[.authorization] != nil else {
            throw APIError.unauthorized("Missing Authorization header")
        }
        var context = context
        context.credentials = try await authenticator.authenticateHeaders(
            AuthenticationRequest(
                method: request.method.rawValue, rawPath: context.target.rawPath, rawQuery: context.target.rawQuery,
                headers: Self.headerMap(request), body: []))
        return try await next(request, context)
    }

    /// The headers by lower-cased name, with `host` from the authority when the request has no such header.
    private static func headerMap(_ request: Request) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        for field in request.headers {
            headers[field.name.canonicalName.lowercased(), default: []].append(field.value)
        }
        if headers["host"] == nil, let authority = request.head.authority {
            headers["host"] = [authority]
        }
        return headers
    }
}

/// Lets only admins through (403 for gateways).
struct AdminMiddleware: SignalboxMiddleware {
    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        guard try context.principal == .admin else { throw APIError.forbidden }
        return try await next(request, context)
    }
}
