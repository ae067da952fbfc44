// The prebuilt browser bundle of simple-peer (no Node polyfills needed; it
// also loads in Node). Its types are the package's own.
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
