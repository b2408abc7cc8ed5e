// xhr2 (XMLHttpRequest for Node, what grpc-web's own tests run on) ships no types: it is the browser's class.
declare module "xhr2" {
  const XMLHttpRequest: new () => object;
  export default XMLHttpRequest;
}
