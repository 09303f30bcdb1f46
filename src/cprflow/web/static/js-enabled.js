// The GOV.UK template's first line, as a file (the Content-Security-Policy runs no inline script):
// components style themselves for script only once the browser can run govuk-frontend's modules.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '')
