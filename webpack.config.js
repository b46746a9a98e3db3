// One config per target: the extension host and the CLI run in Node, the webview app in the browser.
'use strict';
const path = require('path');
const webpack = require('webpack');

const common = {
  devtool: 'source-map',
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [{ test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: { transpileOnly: true } } }] },
  performance: { hints: false },
};

// onnxruntime-node ships a native addon with a fixed bin/ layout: it must stay a real module.
const nodeExternals = { vscode: 'commonjs vscode', 'onnxruntime-node': 'commonjs onnxruntime-node' };

module.exports = [
  {
    ...common,
    name: 'extension',
    target: 'node',
    entry: './src/extension/extension.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'extension.js', libraryTarget: 'commonjs2' },
    externals: nodeExternals,
  },
  {
    ...common,
    name: 'cli',
    target: 'node',
    entry: './src/cli/bin.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'cli.js', libraryTarget: 'commonjs2' },
    externals: nodeExternals,
    plugins: [
      new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true }),
      new webpack.DefinePlugin({ __VERSION__: JSON.stringify(require('./package.json').version) }),
    ],
  },
  {
    ...common,
    name: 'webview',
    target: 'web',
    entry: './media/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'webview.js' },
  },
  {
    ...common,
    name: 'report',
    target: 'web',
    entry: './media/report/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'report.js' },
  },
  {
    ...common,
    name: 'run',
    target: 'web',
    entry: './media/run/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'run.js' },
  },
];
