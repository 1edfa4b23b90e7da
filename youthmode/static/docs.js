"use strict";
// Swagger UI on /docs: the document of the server that served this page, try-it-out on,
// and nothing fetched from any other host (no validator badge, no remote config).
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    displayOperationId: true,
    displayRequestDuration: true,
    validatorUrl: null,
    queryConfigEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
