import Hummingbird
import SignalboxCore

/// What one request carries through the middleware to its route: the decoded target, the caller's
/// credentials and the body, each set by the middleware that establishes it.
package struct SignalboxRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The request target, split and decoded (set by ``TargetMiddleware``).
    package var target = RequestTarget()
    /// The caller's credentials, read from the headers (set by ``AuthenticationMiddleware``).
    package var credentials: HeaderCredentials?
    /// The body, at most the route's limit, checked against the credentials (set by ``BodyMiddleware``).
    package var body: [UInt8] = []

    package init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
    }

    /// The decoded query items.
    package var query: [String: String] { target.query }

    /// The authenticated caller.
    ///
    /// - Throws: 500 on a route registered without ``AuthenticationMiddleware`` (a routing mistake).
    package var principal: Principal {
        get throws(APIError) {
            guard let credentials else { throw APIError.internalFailure }
            return credentials.principal
        }
    }

    /// The path parameter `name`, percent-decoded: the router matches the raw path, so `a%2Fb` is one
    /// segment, `a/b`.
    package func parameter(_ name: String) throws(APIError) -> String {
        guard let raw = parameters.get(name), let decoded = PercentEncoding.decode(raw[...]) else {
            throw APIError.badRequest("Malformed percent-encoding in the request path")
        }
        return decoded
    }
}

/// A middleware of the Signalbox API.
protocol SignalboxMiddleware: RouterMiddleware where Context == SignalboxRequestContext {
    /// The rest of the chain.
    typealias Next = (Request, Context) async throws -> Response
}
