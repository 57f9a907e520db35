import Hummingbird
import HTTPTypes

/// The chat page at /ui: a few files of plain HTML, CSS and JavaScript compiled into the binary
/// (SwiftPM's embedInCode), so the page works offline and with no files beside the executable.
/// The page talks to the server's own OpenAI route; it holds no secret, so it is served
/// without the API key and asks the user for one when the API answers 401.
struct WebUIRoutes {
    struct Asset {
        let bytes: [UInt8]
        let contentType: String
    }

    static let assets: [String: Asset] = [
        "/ui": Asset(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8"),
        "/ui/chat.js": Asset(bytes: PackageResources.chat_js, contentType: "text/javascript; charset=utf-8"),
        "/ui/markdown.js": Asset(bytes: PackageResources.markdown_js, contentType: "text/javascript; charset=utf-8"),
        "/ui/chat.css": Asset(bytes: PackageResources.chat_css, contentType: "text/css; charset=utf-8"),
    ]

    /// Only the page's own files run and load: a reply that slipped past the escaping still
    /// could not run script or reach another origin.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    func register(on router: Router<BasicRequestContext>) {
        for (path, asset) in Self.assets {
            router.get(RouterPath(path)) { _, _ in Self.response(asset) }
        }
    }

    static func response(_ asset: Asset) -> Response {
        // no-cache: the browser revalidates, so a hot upgrade's new page is seen at once.
        Response(status: .ok,
                 headers: [.contentType: asset.contentType, .cacheControl: "no-cache",
                           .contentSecurityPolicy: contentSecurityPolicy, HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// The router treats "/ui/" as "/ui".
    static func isPagePath(_ path: String) -> Bool { assets[path] != nil || path == "/ui/" }

    /// A browser navigating to / (it asks for text/html first) rather than an Ollama client
    /// checking that the server runs.
    static func isBrowserNavigation(_ request: Request) -> Bool {
        request.method == .get && request.uri.path == "/"
            && (request.headers[.accept]?.contains("text/html") ?? false)
    }

    static func redirectToPage() -> Response {
        Response(status: .found, headers: [.location: "/ui"])
    }
}
