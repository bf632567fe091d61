// Submits the SAML auto-post form once the page is parsed. Served as a file, not inline, so the
// page's Content-Security-Policy can stay at script-src 'self'.
"use strict";
document.getElementById("saml-autopost").submit();
