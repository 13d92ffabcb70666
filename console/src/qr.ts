// QR codes drawn in the browser (qrcode-generator): the secret never leaves the page for an
// image service. The picture is a data: URL, which the CSP allows for images only.
import qrcode from 'qrcode-generator';
import { h } from './dom.js';

export function qrImage(text: string, alt: string): HTMLImageElement {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const cell = 5;
  const size = (qr.getModuleCount() + 8) * cell;
  return h('img', {
    class: 'qr',
    src: qr.createDataURL(cell, 4 * cell),
    alt,
    width: size,
    height: size,
  });
}
