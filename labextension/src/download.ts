/** Downloads through the browser: text made here, or a file the server streams. */

function clickLink(href: string, fileName: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export function saveText(text: string, fileName: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  clickLink(url, fileName);
  URL.revokeObjectURL(url);
}

export function downloadUrl(url: string, fileName: string): void {
  clickLink(url, fileName);
}
